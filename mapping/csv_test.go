package mapping

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
)

const (
	guidA = "aaaaaaaa-0000-4000-8000-000000000001"
	guidB = "bbbbbbbb-0000-4000-8000-000000000002"
)

func TestReadCSV(t *testing.T) {
	tests := []struct {
		name string
		in   string
		rows []Row
		bad  []string
	}{
		{"empty", "", nil, nil},
		{"header only", "slack_user_id,entra\n", nil, nil},
		{"header and rows", "slack_user_id,entra\nU111,AAAAAAAA-0000-4000-8000-000000000001\nW222,bob@corp.com\n",
			[]Row{{Line: 2, Record: 1, SlackUserID: "U111", EntraID: guidA}, {Line: 3, Record: 2, SlackUserID: "W222", UPN: "bob@corp.com"}}, nil},
		{"no header", "U111," + guidA,
			[]Row{{Line: 1, Record: 0, SlackUserID: "U111", EntraID: guidA}}, nil},
		{"header in upper case", "SLACK_USER_ID,ENTRA\nU111," + guidA,
			[]Row{{Line: 2, Record: 1, SlackUserID: "U111", EntraID: guidA}}, nil},
		{"byte order mark", "\ufeffslack_user_id,entra\r\nU111," + guidA + "\r\n",
			[]Row{{Line: 2, Record: 1, SlackUserID: "U111", EntraID: guidA}}, nil},
		{"byte order mark before a quoted header", "\ufeff\"slack_user_id\",\"entra\"\nU111," + guidA,
			[]Row{{Line: 2, Record: 1, SlackUserID: "U111", EntraID: guidA}}, nil},
		{"byte order mark without header", "\ufeffU111," + guidA,
			[]Row{{Line: 1, Record: 0, SlackUserID: "U111", EntraID: guidA}}, nil},
		{"a header later is a bad row", "U111," + guidA + "\nslack_user_id,entra\n",
			[]Row{{Line: 1, Record: 0, SlackUserID: "U111", EntraID: guidA}},
			[]string{`line 2: "slack_user_id" is not a Slack user id (U… or W…)`}},
		{"blank lines and spaces", "\n\nslack_user_id,entra\n\n  U111 ,  " + guidA + "  \n   \n\nU222," + guidB + "\n",
			[]Row{{Line: 5, Record: 1, SlackUserID: "U111", EntraID: guidA}, {Line: 8, Record: 3, SlackUserID: "U222", EntraID: guidB}}, nil},
		{"export columns are ignored", "slack_user_id,entra,source,found_at,detail\nU111," + guidA + ",admin,2026-11-30T09:00:00Z,\"imported, by hand\"\n",
			[]Row{{Line: 2, Record: 1, SlackUserID: "U111", EntraID: guidA}}, nil},
		{"bad ids", "u111," + guidA + "\nX222," + guidA + "\nU333,not-a-guid\nU444,\nU555\n,\nU666," + guidA + "\n",
			[]Row{{Line: 7, Record: 6, SlackUserID: "U666", EntraID: guidA}},
			[]string{
				`line 1: "u111" is not a Slack user id (U… or W…)`,
				`line 2: "X222" is not a Slack user id (U… or W…)`,
				`line 3: "not-a-guid" is neither an Entra object id (a GUID) nor a UPN`,
				`line 4: want slack_user_id,entra`,
				`line 5: want slack_user_id,entra`,
				`line 6: want slack_user_id,entra`,
			}},
		{"duplicate rows", "U111," + guidA + "\nU222," + guidB + "\nU111," + guidB + "\nU111,x@corp.com\n",
			[]Row{{Line: 1, Record: 0, SlackUserID: "U111", EntraID: guidA}, {Line: 2, Record: 1, SlackUserID: "U222", EntraID: guidB}},
			[]string{
				"line 3: U111 already appears on line 1; this row is skipped",
				"line 4: U111 already appears on line 1; this row is skipped",
			}},
		{"a bad row does not claim its id", "U111,nope\nU111," + guidA + "\n",
			[]Row{{Line: 2, Record: 1, SlackUserID: "U111", EntraID: guidA}},
			[]string{`line 1: "nope" is neither an Entra object id (a GUID) nor a UPN`}},
		{"comments are not supported", "# mappings\nU111," + guidA + "\n",
			[]Row{{Line: 2, Record: 1, SlackUserID: "U111", EntraID: guidA}},
			[]string{"line 1: want slack_user_id,entra"}},
		{"broken quotes", "U111," + guidA + "\nU222,\"" + guidB + "\"x\nU333," + guidB + "\n",
			[]Row{{Line: 1, Record: 0, SlackUserID: "U111", EntraID: guidA}, {Line: 3, Record: 2, SlackUserID: "U333", EntraID: guidB}},
			[]string{`line 2: not valid CSV: extraneous or missing " in quoted-field`}},
		{"quoted field over two lines", "U111,\"" + guidA + "\"\n\"U222\n\"," + guidB + "\nU333,x@corp.com\n",
			[]Row{{Line: 1, Record: 0, SlackUserID: "U111", EntraID: guidA}, {Line: 2, Record: 1, SlackUserID: "U222", EntraID: guidB}, {Line: 4, Record: 2, SlackUserID: "U333", UPN: "x@corp.com"}},
			nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, bad, err := ReadCSV(strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(rows, tt.rows) {
				t.Errorf("rows:\n got %+v\nwant %+v", rows, tt.rows)
			}
			var got []string
			for _, b := range bad {
				got = append(got, b.Error())
			}
			if !reflect.DeepEqual(got, tt.bad) {
				t.Errorf("bad rows:\n got %q\nwant %q", got, tt.bad)
			}
		})
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestReadCSVReadError(t *testing.T) {
	if _, _, err := ReadCSV(failingReader{}); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("err = %v", err)
	}
}

func TestWriteCSVRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 30, 9, 0, 0, 0, time.FixedZone("CET", 3600))
	ms := []bridge.Mapping{
		{SlackUserID: "U111", EntraID: guidA, Source: bridge.SourceAdmin, Detail: "imported", FoundAt: at},
		{SlackUserID: "U222", Source: bridge.SourceNone, Detail: "no Entra user", FoundAt: at},
		{SlackUserID: "W333", EntraID: guidB, Source: bridge.SourceEmail, Detail: "upn \"q\", x@corp.com", FoundAt: at},
	}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, ms); err != nil {
		t.Fatal(err)
	}
	want := "slack_user_id,entra,source,found_at,detail\n" +
		"U111," + guidA + ",admin,2026-11-30T08:00:00Z,imported\n" +
		"W333," + guidB + ",email,2026-11-30T08:00:00Z,\"upn \"\"q\"\", x@corp.com\"\n"
	if buf.String() != want {
		t.Fatalf("WriteCSV:\n%s\nwant:\n%s", buf.String(), want)
	}
	rows, bad, err := ReadCSV(&buf)
	if err != nil || len(bad) != 0 {
		t.Fatalf("read back: %v %v", bad, err)
	}
	wantRows := []Row{{Line: 2, Record: 1, SlackUserID: "U111", EntraID: guidA}, {Line: 3, Record: 2, SlackUserID: "W333", EntraID: guidB}}
	if !reflect.DeepEqual(rows, wantRows) {
		t.Fatalf("read back %+v", rows)
	}
}

// FuzzReadCSV checks that any input gives valid, unique rows in file order,
// bad rows with line numbers, and that the good rows survive WriteCSV.
func FuzzReadCSV(f *testing.F) {
	f.Add("slack_user_id,entra\nU111," + guidA + "\nW222,bob@corp.com\n")
	f.Add("\ufeffU111," + guidA + "\r\nU111," + guidB + "\r\n")
	f.Add("U1,\"x\"y\n\"U2\n\",z\n,,,\n")
	f.Fuzz(func(t *testing.T, in string) {
		rows, bad, err := ReadCSV(strings.NewReader(in))
		if err != nil {
			t.Fatalf("a strings.Reader cannot fail: %v", err)
		}
		seen := map[string]bool{}
		last := 0
		for _, r := range rows {
			if r.Line < 1 || r.Line < last {
				t.Fatalf("line %d after %d", r.Line, last)
			}
			last = r.Line
			if !bridge.ValidSlackUserID(r.SlackUserID) || seen[r.SlackUserID] {
				t.Fatalf("bad or repeated Slack id in %+v", r)
			}
			seen[r.SlackUserID] = true
			if (r.EntraID == "") == (r.UPN == "") {
				t.Fatalf("want exactly one of EntraID and UPN: %+v", r)
			}
			if r.EntraID != "" && (!bridge.ValidEntraObjectID(r.EntraID) || r.EntraID != strings.ToLower(r.EntraID)) {
				t.Fatalf("bad Entra id in %+v", r)
			}
		}
		for _, b := range bad {
			if b.Line < 1 || !strings.HasPrefix(b.Error(), fmt.Sprintf("line %d: ", b.Line)) {
				t.Fatalf("bad row without a line: %q", b.Error())
			}
		}
		var ms []bridge.Mapping
		for _, r := range rows {
			if r.EntraID != "" {
				ms = append(ms, bridge.Mapping{SlackUserID: r.SlackUserID, EntraID: r.EntraID, Source: bridge.SourceAdmin})
			}
		}
		var buf bytes.Buffer
		if err := WriteCSV(&buf, ms); err != nil {
			t.Fatal(err)
		}
		back, bad2, err := ReadCSV(&buf)
		if err != nil || len(bad2) != 0 || len(back) != len(ms) {
			t.Fatalf("round trip: %d rows, bad %v, err %v; want %d rows", len(back), bad2, err, len(ms))
		}
		for i := range back {
			if back[i].SlackUserID != ms[i].SlackUserID || back[i].EntraID != ms[i].EntraID {
				t.Fatalf("round trip row %d: %+v, want %+v", i, back[i], ms[i])
			}
		}
	})
}

// failAfter accepts n bytes, then fails every write.
type failAfter struct{ n int }

func (f *failAfter) Write(p []byte) (int, error) {
	if f.n < len(p) {
		return 0, errors.New("disk full")
	}
	f.n -= len(p)
	return len(p), nil
}

func TestCSVWriterStreams(t *testing.T) {
	var buf bytes.Buffer
	w := NewCSVWriter(&buf)
	m := bridge.Mapping{SlackUserID: "U024BE7LH", EntraID: "fa8bf3dc-eca7-46b7-bad1-db199b62afc3", Source: bridge.SourceAdmin, FoundAt: time.Unix(0, 0)}
	for range 200 {
		if err := w.Write(m); err != nil {
			t.Fatal(err)
		}
	}
	if buf.Len() == 0 {
		t.Fatal("200 rows written and nothing reached the writer: rows are held, not streamed")
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(buf.String(), "\n"); got != 201 {
		t.Fatalf("%d lines, want a header and 200 rows", got)
	}

	// An empty export is the header alone.
	buf.Reset()
	if err := NewCSVWriter(&buf).Flush(); err != nil || buf.String() != strings.Join(CSVHeader, ",")+"\n" {
		t.Fatalf("empty export %q, %v", buf.String(), err)
	}

	// A failing writer stops the stream with its error.
	w = NewCSVWriter(&failAfter{n: 100})
	var err error
	for i := 0; i < 1000 && err == nil; i++ {
		err = w.Write(m)
	}
	if err == nil {
		err = w.Flush()
	}
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("err = %v, want the writer's error", err)
	}
}
