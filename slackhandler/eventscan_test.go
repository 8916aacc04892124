package slackhandler_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/statusbridge/statusbridge/internal/slacktest"
	"github.com/statusbridge/statusbridge/slackhandler"
)

// sameAsLenient fails t unless ParseEvent answers body exactly as the
// lenient decoder does, and returns ParseEvent's answer and whether the
// one-pass decoder gave it.
func sameAsLenient(t *testing.T, body []byte) (slackhandler.Event, error, bool) {
	t.Helper()
	want, wantErr := slackhandler.ParseEventLenient(body)
	got, err := slackhandler.ParseEvent(body)
	if (err == nil) != (wantErr == nil) || (err != nil && err.Error() != wantErr.Error()) {
		t.Fatalf("slackhandler.ParseEvent(%s): error %v, lenient decoder's %v", body, err, wantErr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("slackhandler.ParseEvent(%s)\n got     %#v\n lenient %#v", body, got, want)
	}
	fast, ok := slackhandler.ParseEventFast(body)
	if ok && !reflect.DeepEqual(fast, want) {
		t.Fatalf("slackhandler.ParseEventFast(%s)\n got     %#v\n lenient %#v", body, fast, want)
	}
	return got, err, ok
}

// userEvent is a user_change at event_time 1 carrying the user JSON u.
func userEvent(u string) string {
	return `{"type":"event_callback","event_time":1,"event":{"type":"user_change","user":` + u + `}}`
}

// userWant is what userEvent decodes to.
func userWant(u slackhandler.User) slackhandler.Event {
	return slackhandler.Event{Type: slackhandler.TypeEventCallback, EventTime: 1, InnerType: slackhandler.TypeUserChange, User: &u}
}

// TestParseEventLenientCases holds ParseEvent to the lenient decoder's
// answers on the payloads that make it lenient (numbers as strings, nulls,
// missing fields, wrong types, repeated keys, escapes), and checks which of
// them the one-pass decoder answers itself.
func TestParseEventLenientCases(t *testing.T) {
	info := func(name string) slackhandler.EmojiDisplayInfo { return slackhandler.EmojiDisplayInfo{EmojiName: name} }
	tests := []struct {
		name string
		body string
		want slackhandler.Event
		// fast says the one-pass decoder answers, without the lenient path.
		fast bool
	}{
		{"numbers as strings",
			`{"type":"event_callback","event_time":"1741944410","event":{"type":"user_change","user":{"id":"U1","profile":{"status_expiration":" 1742000000 "}}}}`,
			slackhandler.Event{Type: slackhandler.TypeEventCallback, EventTime: 1741944410, InnerType: slackhandler.TypeUserChange,
				User: &slackhandler.User{ID: "U1", Profile: slackhandler.Profile{StatusExpiration: 1742000000}}}, true},
		{"fractional and exponent numbers truncate",
			userEvent(`{"profile":{"status_expiration":1.7e9}}`),
			userWant(slackhandler.User{Profile: slackhandler.Profile{StatusExpiration: 1700000000}}), true},
		{"a fraction in a string",
			userEvent(`{"profile":{"status_expiration":"12.9"}}`),
			userWant(slackhandler.User{Profile: slackhandler.Profile{StatusExpiration: 12}}), true},
		{"a negative expiration is never",
			userEvent(`{"profile":{"status_expiration":-5}}`), userWant(slackhandler.User{}), true},
		{"out-of-range numbers read as 0",
			`{"type":"event_callback","event_time":99999999999999999999,"minute_rate_limited":1e400,"event":{"type":"user_change","user":{"profile":{"status_expiration":-9223372036854775808}}}}`,
			slackhandler.Event{Type: slackhandler.TypeEventCallback, InnerType: slackhandler.TypeUserChange, User: &slackhandler.User{}}, true},
		{"no numbers in strings that hold none",
			`{"type":"event_callback","event_time":"soon","event":{"type":"user_change","user":{"profile":{"status_expiration":"0x10"}}}}`,
			slackhandler.Event{Type: slackhandler.TypeEventCallback, InnerType: slackhandler.TypeUserChange, User: &slackhandler.User{}}, true},
		{"nulls read as zero",
			`{"type":"event_callback","team_id":null,"event_id":null,"event_time":null,"event":{"type":"user_change","event_ts":null,"user":{"id":null,"is_bot":null,"profile":{"status_text":null,"status_emoji_display_info":null,"status_expiration":null}}}}`,
			slackhandler.Event{Type: slackhandler.TypeEventCallback, InnerType: slackhandler.TypeUserChange, User: &slackhandler.User{}}, true},
		{"a null user and profile",
			`{"type":"event_callback","event_time":1,"event":{"type":"user_change","user":null}}`,
			userWant(slackhandler.User{}), true},
		{"missing fields",
			`{"type":"event_callback","event":{"type":"user_status_changed"}}`,
			slackhandler.Event{Type: slackhandler.TypeEventCallback, InnerType: slackhandler.TypeUserStatusChanged, User: &slackhandler.User{}}, true},
		{"wrong types read as zero",
			userEvent(`{"id":7,"team_id":["T1"],"is_bot":"true","deleted":1,"enterprise_user":"E1","profile":{"status_text":{"a":1},"status_emoji":false,"status_emoji_display_info":{"emoji_name":"x"},"status_expiration":true,"email":[]}}`),
			userWant(slackhandler.User{}), true},
		{"a profile of the wrong type",
			userEvent(`{"id":"U1","profile":[]}`), userWant(slackhandler.User{ID: "U1"}), true},
		{"display info keeps its objects",
			userEvent(`{"profile":{"status_emoji_display_info":[1,null,"x",[{}],{"emoji_name":"a","unicode":"1f334","display_url":7},{"emoji_name":"b"}]}}`),
			userWant(slackhandler.User{Profile: slackhandler.Profile{StatusEmojiDisplayInfo: []slackhandler.EmojiDisplayInfo{{EmojiName: "a", Unicode: "1f334"}, info("b")}}}), true},
		{"an empty display info is none",
			userEvent(`{"profile":{"status_emoji_display_info":[]}}`), userWant(slackhandler.User{}), true},
		{"repeated keys: the last scalar wins, even of the wrong type",
			userEvent(`{"id":"U1","id":"U2","team_id":"T1","team_id":5,"is_bot":true,"is_bot":false}`),
			userWant(slackhandler.User{ID: "U2"}), true},
		{"repeated profiles merge",
			userEvent(`{"profile":{"status_text":"a","status_emoji_display_info":[{"emoji_name":"x"}]},"profile":{"status_emoji":":b:"},"profile":7}`),
			userWant(slackhandler.User{Profile: slackhandler.Profile{StatusText: "a", StatusEmoji: ":b:", StatusEmojiDisplayInfo: []slackhandler.EmojiDisplayInfo{info("x")}}}), true},
		{"a repeated display info starts afresh",
			userEvent(`{"profile":{"status_emoji_display_info":[{"emoji_name":"x"}],"status_emoji_display_info":[{"emoji_name":"y"}]}}`),
			userWant(slackhandler.User{Profile: slackhandler.Profile{StatusEmojiDisplayInfo: []slackhandler.EmojiDisplayInfo{info("y")}}}), true},
		{"repeated enterprise_user objects merge",
			userEvent(`{"enterprise_user":{"enterprise_id":"E1"},"enterprise_user":{"id":"W1"}}`),
			userWant(slackhandler.User{EnterpriseID: "E1"}), true},
		{"a repeated user: the last wins whole",
			userEvent(`{"id":"U1","profile":{"status_text":"a"}},"user":{"team_id":"T1"}`),
			userWant(slackhandler.User{TeamID: "T1"}), true},
		{"a repeated event: the last wins whole",
			`{"type":"event_callback","event_time":1,"event":{"type":"user_change","event_ts":"1.5","user":{"id":"U1"}},"event":{"type":"user_change"}}`,
			userWant(slackhandler.User{}), true},
		{"escapes",
			userEvent(`{"profile":{"status_text":"caf\u00e9 \ud83c\udf34 \/\"\\\b\f\n\r\t","status_emoji_display_info":[{"display_url":"https:\/\/e\/x.png"}]}}`),
			userWant(slackhandler.User{Profile: slackhandler.Profile{StatusText: "café 🌴 /\"\\\b\f\n\r\t",
				StatusEmojiDisplayInfo: []slackhandler.EmojiDisplayInfo{{DisplayURL: "https://e/x.png"}}}}), true},
		{"lone surrogates and invalid UTF-8 become U+FFFD",
			userEvent("{\"profile\":{\"status_text\":\"\\ud800x\\udc00\\ud83c\\ud83c\\udf34\",\"status_emoji\":\"a\xffb\xe2\x82\"}}"),
			userWant(slackhandler.User{Profile: slackhandler.Profile{StatusText: "\uFFFDx\uFFFD\uFFFD🌴", StatusEmoji: "a\uFFFDb\uFFFD\uFFFD"}}), true},
		{"whitespace everywhere",
			" \r\n\t{ \"type\" : \"event_callback\" , \"event_time\" : 1 , \"event\" : { \"type\" : \"user_change\" , \"user\" : { \"id\" : \"U1\" } } } \n",
			userWant(slackhandler.User{ID: "U1"}), true},
		{"app_home_opened",
			`{"type":"event_callback","event":{"type":"app_home_opened","user":"U1","tab":"home","user":"U2"}}`,
			slackhandler.Event{Type: slackhandler.TypeEventCallback, InnerType: slackhandler.TypeAppHomeOpened, HomeUser: "U2", Tab: "home"}, true},
		{"app_home_opened with a user object",
			`{"type":"event_callback","event":{"type":"app_home_opened","user":{"id":"U1"},"tab":["home"]}}`,
			slackhandler.Event{Type: slackhandler.TypeEventCallback, InnerType: slackhandler.TypeAppHomeOpened}, true},
		{"url_verification",
			`{"token":"x","challenge":"abc","type":"url_verification"}`,
			slackhandler.Event{Type: slackhandler.TypeURLVerification, Challenge: "abc"}, true},
		{"app_rate_limited, the minute as a string",
			`{"token":"x","type":"app_rate_limited","team_id":"T1","minute_rate_limited":"1518467820","api_app_id":"A1"}`,
			slackhandler.Event{Type: slackhandler.TypeAppRateLimited, TeamID: "T1", MinuteRateLimited: 1518467820, APIAppID: "A1"}, true},
		{"another envelope's event of any type",
			`{"type":"other","event":5}`, slackhandler.Event{Type: "other"}, true},
		{"keys match case-insensitively",
			`{"Type":"event_callback","EVENT_TIME":1,"event":{"type":"user_change","user":{"ID":"U1"}}}`,
			userWant(slackhandler.User{ID: "U1"}), false},
		{"escaped keys",
			`{"\u0074ype":"event_callback","event_time":1,"event":{"type":"user_change","user":{"id":"U1"}}}`,
			userWant(slackhandler.User{ID: "U1"}), false},
		{"keys folded beyond ASCII",
			"{\"type\":\"event_callback\",\"event_time\":1,\"event\":{\"type\":\"user_change\",\"user\":{\"id\":\"U1\",\"team_\u212a\":1,\"\u017Fkype\":2}}}",
			userWant(slackhandler.User{ID: "U1"}), false},
		{"unknown keys in nested objects are anything",
			userEvent(`{"id":"U1","profile":{"fields":{"Xf01":{"Value":"\u00e9","\u0041lt":""}},"ſ":1}}`),
			userWant(slackhandler.User{ID: "U1"}), false},
		{"deep nesting where nothing is read",
			`{"type":"x","deep":` + strings.Repeat("[", 300) + strings.Repeat("]", 300) + `}`,
			slackhandler.Event{Type: "x"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err, fast := sameAsLenient(t, []byte(tt.body))
			if err != nil {
				t.Fatalf("ParseEvent: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseEvent\n got  %#v\n want %#v", got, tt.want)
				if got.User != nil && tt.want.User != nil {
					t.Errorf("user\n got  %#v\n want %#v", *got.User, *tt.want.User)
				}
			}
			if fast != tt.fast {
				t.Errorf("one-pass decoder answered: %v, want %v", fast, tt.fast)
			}
		})
	}
}

// TestParseEventRefusesWhatTheLenientDecoderRefuses: malformed JSON and an
// event_callback without an event object fail alike, whatever path.
func TestParseEventRefusesWhatTheLenientDecoderRefuses(t *testing.T) {
	for _, body := range []string{
		``, ` `, `[]`, `null`, `"x"`, `{`, `{"type":"x"`, `{"type":"x",}`, `{,"type":"x"}`, `{"type" "x"}`,
		`{"type":"x"} {}`, `{"type":"x"}x`, `{"a":01}`, `{"a":-}`, `{"a":1.}`, `{"a":1e}`, `{"a":.5}`, `{"a":+1}`,
		`{"a":tru}`, `{"a":nul}`, `{"a":True}`, "{\"a\":\"\x01\"}", `{"a":"\q"}`, `{"a":"\u12G4"}`, `{"a":"\'"}`,
		`{"a":"x}`, `{"a":[1,]}`, `{"a":[,1]}`, `{"a":[1 2]}`, `{"a":{"b"}}`, `{"a":{1:2}}`, "\xef\xbb\xbf{}",
		`{"type":"event_callback"}`, `{"type":"event_callback","event":null}`, `{"type":"event_callback","event":[]}`,
		`{"type":"event_callback","event":{"type":"user_change"},"event":"x"}`,
		`{"type":"event_callback","event":{"type":"user_change","user":{"profile":{"status_text":"a"` + "\x00" + `}}}}`,
		`{"type":"x","event":{"type":"user_change","user":{"id":"U1",}}}`,
	} {
		t.Run(body, func(t *testing.T) {
			if _, err, _ := sameAsLenient(t, []byte(body)); err == nil {
				t.Errorf("slackhandler.ParseEvent(%q) accepted it", body)
			}
			if _, ok := slackhandler.ParseEventFast([]byte(body)); ok {
				t.Errorf("the one-pass decoder accepted %q", body)
			}
		})
	}
}

// TestParseEventFastTakesSlacksPayloads: the payloads Slack sends, as the
// test generators build them, never need the lenient path.
func TestParseEventFastTakesSlacksPayloads(t *testing.T) {
	t0 := time.Unix(1741944410, 0)
	for i, body := range [][]byte{
		slacktest.StatusEvent("user_status_changed", "Ev0A", "T1", "U0123ABCD", t0, "Vacationing <&> \"here\"", ":palm_tree:", 1742000000),
		slacktest.StatusEvent("user_change", "Ev0B", "T1", "U0123ABCD", t0, "Pairing 🧑‍💻", ":male-technologist::skin-tone-4:", 0),
		slacktest.StatusEvent("user_change", "Ev0C", "T1", "U0123ABCD", t0, "", "", 0),
		slacktest.GridStatusEvent("user_change", "Ev0G", "T1", "E1", "T2", "W0123ABCD", t0, "x", ":wave:", 0),
		slacktest.DeactivatedEvent("Ev0X", "T1", "U0123ABCD", t0),
		slacktest.StrangerEvent("Ev0S", "T1", "T9", "U0123ABCD", t0, "x", ":wave:"),
		slacktest.AppHomeOpened("Ev0H", "T1", "E1", "U0123ABCD", "home", t0),
		slacktest.URLVerification("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"),
		slacktest.AppRateLimited("T1", t0),
	} {
		ev, err, fast := sameAsLenient(t, body)
		if err != nil || !fast {
			t.Errorf("payload %d: error %v, one-pass decoder answered %v", i, err, fast)
		}
		if ev.Type == slackhandler.TypeEventCallback && ev.InnerType != slackhandler.TypeAppHomeOpened && (ev.User == nil || ev.User.ID == "") {
			t.Errorf("payload %d: no user in %#v", i, ev)
		}
	}
}

// BenchmarkParseEvent compares the one-pass decoder with the lenient one on
// a status event as Slack sends it; compare the ns/op of one run.
func BenchmarkParseEvent(b *testing.B) {
	body := slacktest.StatusEvent("user_status_changed", "Ev0A", "T1", "U0123ABCD", time.Unix(1741944410, 0), "In a meeting", ":calendar:", 0)
	b.Run("one-pass", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if _, ok := slackhandler.ParseEventFast(body); !ok {
				b.Fatal("not decoded")
			}
		}
	})
	b.Run("lenient", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if _, err := slackhandler.ParseEventLenient(body); err != nil {
				b.Fatal(err)
			}
		}
	})
}
