package slackhandler

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzVerify checks that the signature check never panics and accepts a
// request only when its signature is Sign's over exactly its timestamp and
// body, within the five-minute window.
func FuzzVerify(f *testing.F) {
	const secret = "8f742231b10e8888abcd99yyyzzz85a5"
	body := "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&command=%2Fwebhook-collect&text="
	f.Add("1531420618", Sign(secret, 1531420618, []byte(body)), []byte(body))
	f.Add("1531420618", "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503", []byte(body))
	f.Add("01531420618", Sign(secret, 1531420618, []byte(body)), []byte(body))
	f.Add("+1531420618", Sign(secret, 1531420618, []byte(body)), []byte(body))
	f.Add("1531420618", "v1=00", []byte("{}"))
	f.Add("", "", []byte(nil))
	f.Add("99999999999999999999", "v0=zz", []byte("x"))
	at := time.Unix(1531420618, 0)
	f.Fuzz(func(t *testing.T, ts, sig string, body []byte) {
		h := http.Header{}
		h.Set("X-Slack-Request-Timestamp", ts)
		h.Set("X-Slack-Signature", sig)
		if verifySignature([]byte(secret), h, body, at) != "" {
			return
		}
		secs, err := strconv.ParseInt(ts, 10, 64)
		if err != nil || strconv.FormatInt(secs, 10) != ts {
			t.Fatalf("accepted timestamp %q", ts)
		}
		if d := at.Sub(time.Unix(secs, 0)).Abs(); d > MaxClockSkew {
			t.Fatalf("accepted a timestamp %v off", d)
		}
		if !strings.EqualFold(sig, Sign(secret, secs, body)) {
			t.Fatalf("accepted signature %q for body %q", sig, body)
		}
	})
}
