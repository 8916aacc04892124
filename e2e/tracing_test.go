package e2e

import (
	"compress/gzip"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpReceiver is a local OTLP/HTTP trace receiver (POST /v1/traces,
// protobuf bodies).
type otlpReceiver struct {
	mu      sync.Mutex
	spans   map[string][]string // trace id → span names
	service map[string]bool
}

func (rc *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "want POST /v1/traces with application/x-protobuf", http.StatusBadRequest)
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	b, err := io.ReadAll(body)
	var req coltracepb.ExportTraceServiceRequest
	if err == nil {
		err = proto.Unmarshal(b, &req)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	for _, rs := range req.ResourceSpans {
		for _, a := range rs.GetResource().GetAttributes() {
			if a.Key == "service.name" {
				rc.service[a.GetValue().GetStringValue()] = true
			}
		}
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				id := hex.EncodeToString(s.TraceId)
				rc.spans[id] = append(rc.spans[id], s.Name)
			}
		}
	}
	rc.mu.Unlock()
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(out)
}

// traceWith returns the id of a trace that has every one of names.
func (rc *otlpReceiver) traceWith(names ...string) (string, []string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for id, got := range rc.spans {
		ok := true
		for _, n := range names {
			ok = ok && contains(got, n)
		}
		if ok {
			return id, append([]string(nil), got...)
		}
	}
	return "", nil
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// TestOneTracePerStatusChange: with OTEL_EXPORTER_OTLP_ENDPOINT set, one
// status change through the built binary is one trace at an OTLP/HTTP
// receiver (intake, submit, the worker, the presence read and the Graph
// write), and the change's log lines carry its trace id.
func TestOneTracePerStatusChange(t *testing.T) {
	rc := &otlpReceiver{spans: map[string][]string{}, service: map[string]bool{}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	w := newWorld(t, "OTEL_EXPORTER_OTLP_ENDPOINT="+srv.URL, "OTEL_BSP_SCHEDULE_DELAY=200")
	mustCLI(t, w.env, "mapping", "set", alice, aliceID)
	p := startServe(t, w.env)

	if code, body := p.send(t, event("user_status_changed", nextEventID(), alice, time.Now(), "Tracing", ":mag:", 0)); code != 200 {
		t.Fatalf("event answered %d %q", code, body)
	}
	w.waitCalls(t, aliceID, 1)
	want := []string{"slack.events.http", "bridge.submit", "bridge.process", "teams.presence.read", "teams.set_status_message"}
	var id string
	var got []string
	eventually(t, 15*time.Second, "one trace with spans "+strings.Join(want, ", "), func() bool {
		id, got = rc.traceWith(want...)
		return id != ""
	})
	if len(got) != len(want) {
		t.Errorf("trace %s has spans %q, want exactly %q", id, got, want)
	}
	rc.mu.Lock()
	if !rc.service["statusbridge"] {
		t.Errorf("service.name = %v, want statusbridge", rc.service)
	}
	rc.mu.Unlock()
	var logged bool
	for _, line := range strings.Split(p.out.String(), "\n") {
		if strings.Contains(line, "status set in Teams") {
			logged = true
			if !strings.Contains(line, "trace_id="+id) {
				t.Errorf("log line lacks trace_id=%s: %s", id, line)
			}
		}
	}
	if !logged {
		t.Errorf("no \"status set in Teams\" line:\n%s", p.out.String())
	}
}
