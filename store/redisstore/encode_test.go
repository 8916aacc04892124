package redisstore

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
)

// sameAsMarshal fails t unless encodeChange, where it answers, writes what
// json.Marshal writes, and returns whether it answered.
func sameAsMarshal(t *testing.T, c bridge.Change) bool {
	t.Helper()
	change, status, ok := encodeChange(c)
	wantStatus, _ := json.Marshal(c.Status)
	wantChange, err := json.Marshal(c)
	if !ok {
		return false
	}
	if err != nil {
		t.Fatalf("encodeChange(%#v) answered where json.Marshal fails: %v", c, err)
	}
	if !bytes.Equal(change, wantChange) || !bytes.Equal(status, wantStatus) {
		t.Fatalf("encodeChange(%#v)\n got  %s\n      %s\n want %s\n      %s", c, change, status, wantChange, wantStatus)
	}
	// The fingerprint appends to the status; the change stays as it was.
	before := string(change)
	if fingerprint(status, c) != fingerprint(wantStatus, c) || string(change) != before {
		t.Fatalf("fingerprint of %#v differs or overwrote the change", c)
	}
	return true
}

func TestEncodeChangeIsJSONMarshal(t *testing.T) {
	at := time.Date(2025, 3, 14, 9, 26, 50, 123456789, time.UTC)
	full := bridge.Change{UserID: "U0123ABCD", TeamID: "T1", EnterpriseID: "E1",
		Status:  bridge.Status{Text: "Vacationing 🌴 ünd so", Emoji: "🌴", EmojiName: ":palm_tree:", Expiration: 1742000000},
		EventID: "Ev1", EventTime: at, Source: bridge.SourceHTTP, Deactivated: true, EventType: "user_change",
		Observation: "obs-1", Trace: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
	plain := []bridge.Change{
		full,
		{UserID: "U1", EventTime: at},
		{UserID: "", EventTime: time.Time{}},
		{UserID: "U1", Status: bridge.Status{Emoji: "👋🏼"}, EventTime: at.In(time.FixedZone("", -(9*3600 + 30*60)))},
		{UserID: "U1", Status: bridge.Status{Expiration: -1, Text: "\x7f~ "}, EventTime: time.Unix(0, 0)},
		{UserID: "U1", Status: bridge.Status{EmojiName: "x"}, EventTime: at.In(time.FixedZone("", 14*3600))},
		{UserID: "U1", EventTime: at.In(time.FixedZone("", 3600+30))},
	}
	for _, c := range plain {
		if !sameAsMarshal(t, c) {
			t.Errorf("encodeChange left %#v to encoding/json", c)
		}
	}
	for _, c := range []bridge.Change{
		{UserID: "U1", Status: bridge.Status{Text: "a <b"}, EventTime: at},
		{UserID: "U1", Status: bridge.Status{Text: "a > b"}, EventTime: at},
		{UserID: "U1", Status: bridge.Status{Text: "R&D"}, EventTime: at},
		{UserID: "U1", Status: bridge.Status{Text: `"quoted"`}, EventTime: at},
		{UserID: "U1", Status: bridge.Status{Text: `back\slash`}, EventTime: at},
		{UserID: "U1", Status: bridge.Status{Text: "tab\there"}, EventTime: at},
		{UserID: "U1", Status: bridge.Status{Text: "nul\x00"}, EventTime: at},
		{UserID: "U1", Status: bridge.Status{Text: "sep\u2028arator"}, EventTime: at},
		{UserID: "U1", Status: bridge.Status{Text: "sep\u2029arator"}, EventTime: at},
		{UserID: "U1", Status: bridge.Status{Text: "bad \xff utf-8"}, EventTime: at},
		{UserID: "U1", Status: bridge.Status{Text: "cut \xe2\x80"}, EventTime: at},
		{UserID: "U1", Trace: "<", EventTime: at},
		{UserID: "U1", EventTime: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		{UserID: "U1", EventTime: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)},
		{UserID: "U1", EventTime: at.In(time.FixedZone("", 24*3600))},
	} {
		if sameAsMarshal(t, c) {
			t.Errorf("encodeChange answered for %#v, which needs encoding/json", c)
		}
	}
}

// TestEncodeChangeKnowsEveryField sets every field of a change in turn and
// holds the encoding to json.Marshal's: a field added to bridge.Change or
// bridge.Status that encodeChange does not write fails here.
func TestEncodeChangeKnowsEveryField(t *testing.T) {
	base := bridge.Change{UserID: "U1", EventTime: time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)}
	var set func(v reflect.Value, path string)
	set = func(v reflect.Value, path string) {
		for i := 0; i < v.NumField(); i++ {
			f, name := v.Field(i), path+v.Type().Field(i).Name
			switch f.Kind() {
			case reflect.String:
				f.SetString("v")
			case reflect.Bool:
				f.SetBool(true)
			case reflect.Int, reflect.Int64:
				f.SetInt(7)
			case reflect.Struct:
				if f.Type() == reflect.TypeOf(time.Time{}) {
					f.Set(reflect.ValueOf(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)))
				} else {
					set(f, name+".")
					continue
				}
			default:
				t.Fatalf("%s is a %s, which encodeChange cannot write", name, f.Kind())
			}
			one := reflect.New(reflect.TypeOf(base)).Elem()
			one.Set(reflect.ValueOf(base))
			if path == "" {
				one.Field(i).Set(f)
			} else {
				one.FieldByName("Status").Field(i).Set(f)
			}
			if !sameAsMarshal(t, one.Interface().(bridge.Change)) {
				t.Errorf("with %s set, encodeChange left the change to encoding/json", name)
			}
		}
	}
	var all bridge.Change
	set(reflect.ValueOf(&all).Elem(), "")
	all.EventTime = base.EventTime
	if !sameAsMarshal(t, all) {
		t.Errorf("with every field set, encodeChange left the change to encoding/json")
	}
}

// FuzzEncodeChange holds encodeChange to json.Marshal on any strings,
// expiration and time.
func FuzzEncodeChange(f *testing.F) {
	f.Add("U1", "Vacationing", "🌴", ":palm_tree:", int64(1742000000), int64(1741944410123456789), true, "<&>")
	f.Add("", "", "", "", int64(0), int64(0), false, "")
	f.Add("U\u2028", "\xff", "\"", "\\", int64(-1), int64(-62135596800000000), false, "x")
	f.Fuzz(func(t *testing.T, user, text, emoji, name string, exp, nanos int64, deactivated bool, trace string) {
		sameAsMarshal(t, bridge.Change{UserID: user, TeamID: name, Status: bridge.Status{Text: text, Emoji: emoji, EmojiName: name, Expiration: exp},
			EventID: text, EventTime: time.Unix(0, nanos).In(time.FixedZone("", int(exp%100000))), Deactivated: deactivated,
			Source: bridge.ChangeSource(emoji), Observation: trace, Trace: trace, EventType: user})
	})
}

// BenchmarkEncodeChange compares encodeChange with the two json.Marshal
// calls it replaces on the ack path; compare the ns/op of one run.
func BenchmarkEncodeChange(b *testing.B) {
	c := bridge.Change{UserID: "U0123ABCD", TeamID: "T1", Status: bridge.Status{Text: "In a meeting", Emoji: "📆", EmojiName: ":calendar:"},
		EventID: "Ev0123456789", EventTime: time.Now(), Source: bridge.SourceHTTP, EventType: "user_status_changed"}
	b.Run("by hand", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, ok := encodeChange(c); !ok {
				b.Fatal("left to encoding/json")
			}
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = json.Marshal(c.Status)
			_, _ = json.Marshal(c)
		}
	})
}
