package slackhandler_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/statusbridge/statusbridge/internal/slacktest"
	"github.com/statusbridge/statusbridge/slackhandler"
)

// TestSecretsNeverLogged drives the handler and the directory through their
// success and failure paths with debug logging and checks that neither the
// signing secret nor the bot token shows up in a log line or an error.
func TestSecretsNeverLogged(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var errs []string

	sub := &recorder{}
	h := slackhandler.NewHandler(secret, sub, slackhandler.WithLogger(log),
		slackhandler.WithClock(func() time.Time { return now }))
	send := func(r *http.Request) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		errs = append(errs, rec.Body.String())
	}
	url := "http://127.0.0.1/slack/events"
	send(slacktest.NewRequest(url, secret, now, statusEvent("Ev1")))
	req := slacktest.NewRequest(url, secret, now, statusEvent("Ev2"))
	req.Header.Set("X-Slack-Retry-Num", "1")
	send(req)
	send(slacktest.NewRequest(url, "wrong", now, statusEvent("Ev3")))
	send(slacktest.NewRequest(url, secret, now.Add(-time.Hour), statusEvent("Ev4")))
	send(slacktest.NewRequest(url, secret, now, []byte(`{"type":`)))
	send(slacktest.NewRequest(url, secret, now, slacktest.AppRateLimited("T1", now)))
	send(slacktest.NewRequest(url, secret, now, slacktest.URLVerification("abc")))
	sub.err = errors.New("store down")
	send(slacktest.NewRequest(url, secret, now, statusEvent("Ev5")))

	api := slacktest.StartAPI(t, botToken)
	api.AddUser(slacktest.User{ID: "U0ALICE", TeamID: "T1", Email: "a@example.com"})
	d := slackhandler.NewDirectory(botToken, api.URL, slackhandler.WithDirectoryLogger(log))
	bad := slackhandler.NewDirectory(botToken+"x", api.URL, slackhandler.WithDirectoryLogger(log))
	ctx := context.Background()
	collect := func(err error) {
		if err != nil {
			errs = append(errs, err.Error())
		}
	}
	_, err := d.SlackUser(ctx, "U0ALICE")
	collect(err)
	_, err = d.SlackUser(ctx, "U0NOBODY")
	collect(err)
	api.FailNext("users.info", 1, http.StatusTooManyRequests, "5")
	_, err = d.SlackUser(ctx, "U0ALICE")
	collect(err)
	api.FailNext("users.info", 1, http.StatusInternalServerError, "")
	_, err = d.SlackUser(ctx, "U0ALICE")
	collect(err)
	_, err = bad.SlackUser(ctx, "U0ALICE")
	collect(err)
	_, _, _, err = bad.AuthTest(ctx)
	collect(err)
	// A network failure: nothing listens there any more.
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	_, err = slackhandler.NewDirectory(botToken, srv.URL+"/api/", slackhandler.WithDirectoryLogger(log)).SlackUser(ctx, "U0ALICE")
	collect(err)

	if logs.Len() == 0 || len(errs) < 10 {
		t.Fatalf("nothing to check: %d log bytes, %d errors", logs.Len(), len(errs))
	}
	all := logs.String() + "\n" + strings.Join(errs, "\n")
	for _, s := range []string{secret, botToken, "FAKEFAKEFAKE"} {
		if strings.Contains(all, s) {
			t.Errorf("secret %q found in logs or errors:\n%s", s, all)
		}
	}
}
