// Package bench measures the intake path against its floor, in one run:
// the bridge's signed-event intake (signature check, tolerant decoding, one
// atomic store step) against the least any intake must do (the same
// signature check and one Redis write).
//
//	go test -run '^$' -bench . -benchtime 2000x ./internal/bench
//
// Compare the two ns/op figures of one run; absolute times on shared
// machines mean little.
package bench

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
	"github.com/statusbridge/statusbridge/internal/redistest"
	"github.com/statusbridge/statusbridge/internal/slacktest"
	"github.com/statusbridge/statusbridge/slackhandler"
	"github.com/statusbridge/statusbridge/store/redisstore"
)

const secret = "bench-signing-secret-0123456789"

func events(n int) [][]byte {
	out := make([][]byte, n)
	now := time.Now()
	for i := range out {
		out[i] = slacktest.StatusEvent("user_status_changed", fmt.Sprintf("EvB%09d", i), "T0BENCH01",
			fmt.Sprintf("U%08d", i%500), now.Add(time.Duration(i)*time.Second), fmt.Sprintf("In a meeting %d", i), ":calendar:", 0)
	}
	return out
}

func serve(b *testing.B, h http.Handler, bodies [][]byte) {
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := slacktest.NewRequest("http://bridge/slack/events", secret, time.Now(), bodies[i%len(bodies)])
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("answered %d: %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkIntake is the bridge's HTTP intake, storing each change in Redis.
func BenchmarkIntake(b *testing.B) {
	srv := redistest.Start(b)
	st, err := redisstore.Open(context.Background(), srv.URL())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	engine := &bridge.Engine{Queue: st}
	serve(b, slackhandler.NewHandler(secret, engine), events(b.N+1))
}

// BenchmarkIntakeFloor verifies the signature and makes one Redis write: the
// least an intake that stores before acknowledging can do.
func BenchmarkIntakeFloor(b *testing.B) {
	srv := redistest.Start(b)
	st, err := redisstore.Open(context.Background(), srv.URL())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	rdb := st.Client()
	n := 0
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		mac := hmac.New(sha256.New, []byte(secret))
		fmt.Fprintf(mac, "v0:%s:%s", r.Header.Get("X-Slack-Request-Timestamp"), body)
		if !hmac.Equal([]byte("v0="+hex.EncodeToString(mac.Sum(nil))), []byte(r.Header.Get("X-Slack-Signature"))) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		n++
		if err := rdb.Set(r.Context(), fmt.Sprintf("floor:%d", n), body, 0).Err(); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
	})
	serve(b, h, events(b.N+1))
}

// BenchmarkRender is the pure rendering of a status as a Teams message.
func BenchmarkRender(b *testing.B) {
	s := bridge.Status{Text: "Vacationing until Friday, back on Monday", Emoji: "🌴", Expiration: time.Now().Add(time.Hour).Unix()}
	now := time.Now()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if bridge.Render(s, now).Content == "" {
			b.Fatal("empty")
		}
	}
}
