package main

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/statusbridge/statusbridge/bridge"
)

func TestParseImportResolvesUPNsAndKeepsFileOrder(t *testing.T) {
	const guid = "aaaaaaaa-0000-4000-8000-000000000001"
	in := "slack_user_id,entra\n" +
		"U111,alice@corp.com\n" +
		"U222,nobody@corp.com\n" +
		"bad,row\n" +
		"U333,down@corp.com\n" +
		"U444," + guid + "\n"
	lookup := func(_ context.Context, upn string) (string, error) {
		switch upn {
		case "alice@corp.com":
			return "bbbbbbbb-0000-4000-8000-000000000002", nil
		case "down@corp.com":
			return "", errors.New("graph 503")
		}
		return "", bridge.ErrNotFound
	}
	rows, bad, err := parseImport(context.Background(), strings.NewReader(in), lookup, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantRows := []importRow{
		{line: 2, slackID: "U111", entraID: "bbbbbbbb-0000-4000-8000-000000000002", detail: "imported: upn alice@corp.com"},
		{line: 6, slackID: "U444", entraID: guid, detail: "imported"},
	}
	if !reflect.DeepEqual(rows, wantRows) {
		t.Errorf("rows %+v", rows)
	}
	wantBad := []string{
		`line 3: no Entra user with UPN "nobody@corp.com"`,
		`line 4: "bad" is not a Slack user id (U… or W…)`,
		`line 5: looking up "down@corp.com" failed: graph 503`,
	}
	if !reflect.DeepEqual(bad, wantBad) {
		t.Errorf("bad %q", bad)
	}

	// Without Graph, a UPN is a bad row that says what to do.
	_, bad, _ = parseImport(context.Background(), strings.NewReader("U111,alice@corp.com\n"), nil, nil)
	if len(bad) != 1 || bad[0] != `line 1: "alice@corp.com" is a UPN, and resolving it needs the Azure settings; give the object id instead` {
		t.Errorf("bad %q", bad)
	}
}

func TestParseImportReportsProgress(t *testing.T) {
	var b strings.Builder
	for range 1200 {
		b.WriteString("U111,not-an-id\n")
	}
	b.WriteString("U222,aaaaaaaa-0000-4000-8000-000000000001\n")
	var got []int
	rows, _, _ := parseImport(context.Background(), strings.NewReader(b.String()), nil, func(n int) { got = append(got, n) })
	if len(rows) != 1 || !reflect.DeepEqual(got, []int{500, 1000}) {
		t.Fatalf("rows %d, progress %v", len(rows), got)
	}
}
