package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/png"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/statusbridge/statusbridge/internal/redistest"
)

func TestPercentile(t *testing.T) {
	var lat []time.Duration
	for i := 1; i <= 100; i++ {
		lat = append(lat, time.Duration(i)*time.Millisecond)
	}
	for _, tc := range []struct{ p, want float64 }{{50, 50}, {99, 99}, {100, 100}, {1, 1}} {
		if got := Percentile(lat, tc.p); got != tc.want {
			t.Errorf("Percentile(1..100 ms, %v) = %v, want %v", tc.p, got, tc.want)
		}
	}
	if got := Percentile(nil, 99); got != 0 {
		t.Errorf("Percentile(none) = %v, want 0", got)
	}
}

func TestProcCPUGrows(t *testing.T) {
	before, err := ProcCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	x := 0
	for start := time.Now(); time.Since(start) < 100*time.Millisecond; {
		x++
	}
	after, err := ProcCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if d := after - before; d < 50*time.Millisecond || d > 2*time.Second {
		t.Errorf("100 ms of spinning (%d loops) counted as %s of CPU", x, d)
	}
	if _, err := ProcCPU(-1); err == nil {
		t.Error("ProcCPU(-1): no error")
	}
}

// serveInProcess serves the named server (Handler) on a test server until
// the test ends.
func serveInProcess(t *testing.T, name, arg string) *httptest.Server {
	t.Helper()
	h, closeStore, err := Handler(t.Context(), name, secret, arg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.Close()
		closeStore()
	})
	return srv
}

// TestLoadAgainstTheBoltFloor drives the bbolt floor in process, open loop
// and saturated: every request is acknowledged and timed, and a request
// with a bad signature is not.
func TestLoadAgainstTheBoltFloor(t *testing.T) {
	srv := serveInProcess(t, FloorBoltBatch, t.TempDir())
	c := Client()
	gen := &generator{}
	lat, failed, took := OpenLoop(t.Context(), c, srv.URL, 500, gen.next(100))
	if failed != 0 || len(lat) != 100 {
		t.Fatalf("open loop: %d acked, %d failed", len(lat), failed)
	}
	if took < 190*time.Millisecond {
		t.Errorf("100 requests at 500/s took %s, want about 200 ms", took)
	}
	if lat[0] <= 0 {
		t.Errorf("latency %s", lat[0])
	}
	lat, failed, _ = Saturate(t.Context(), c, srv.URL, 8, time.Second, gen.next(200))
	if failed != 0 || len(lat) != 200 {
		t.Fatalf("saturation: %d acked, %d failed", len(lat), failed)
	}
	bad := gen.next(1)
	bad[0].Signature = "v0=00"
	if _, failed, _ := OpenLoop(t.Context(), c, srv.URL, 100, bad); failed != 1 {
		t.Errorf("a bad signature was acknowledged")
	}
}

// TestAppendReferenceStoresEveryAck drives the append-only reference
// (BridgeAppend) against a real Redis: each acknowledged event is one
// entry of its list, and a request with a bad signature adds nothing.
func TestAppendReferenceStoresEveryAck(t *testing.T) {
	rs := redistest.Start(t)
	srv := serveInProcess(t, BridgeAppend, rs.URL())
	c := Client()
	gen := &generator{}
	lat, failed, _ := Saturate(t.Context(), c, srv.URL, 8, 10*time.Second, gen.next(300))
	if failed != 0 || len(lat) != 300 {
		t.Fatalf("saturation: %d acked, %d failed", len(lat), failed)
	}
	// One more, alone, after the others were acknowledged: it is last.
	if _, failed, _ := OpenLoop(t.Context(), c, srv.URL, 100, gen.next(1)); failed != 0 {
		t.Fatal("the 301st event was not acknowledged")
	}
	bad := gen.next(1)
	bad[0].Signature = "v0=00"
	if _, failed, _ := OpenLoop(t.Context(), c, srv.URL, 100, bad); failed != 1 {
		t.Errorf("a bad signature was acknowledged")
	}
	n, err := rs.Do("LLEN", "{append}:changes")
	if err != nil || n != "301" {
		t.Fatalf("the list holds %q entries (%v), want 301", n, err)
	}
	last, err := rs.Do("LINDEX", "{append}:changes", "-1")
	if err != nil || !strings.Contains(last, fmt.Sprintf(`"U%08d"`, 301)) {
		t.Errorf("the last entry is %q (%v), want the 301st change", last, err)
	}
}

// TestLatencyChart draws a chart of two series and checks that the lines,
// the legend and the axes are on it.
func TestLatencyChart(t *testing.T) {
	results := []Result{
		{Target: BridgeRedis, Offered: 500, P99ms: 2}, {Target: BridgeRedis, Offered: 4000, P99ms: 8},
		{Target: FloorRedis, Offered: 500, P99ms: 1}, {Target: FloorRedis, Offered: 4000, P99ms: 3},
		{Target: FloorRedis, Offered: 0, P99ms: 50}, // saturation: not plotted
	}
	c := LatencyChart(results)
	if len(c.Series) != 2 || len(c.Series[1].X) != 2 {
		t.Fatalf("series = %+v", c.Series)
	}
	var buf bytes.Buffer
	if err := c.WritePNG(&buf); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 900 || b.Dy() != 540 {
		t.Errorf("size %v", b)
	}
	red, black := 0, 0
	for y := 0; y < 540; y++ {
		for x := 0; x < 900; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			switch {
			case r>>8 == 200 && g>>8 == 30 && b>>8 == 30:
				red++
			case r == 0 && g == 0 && b == 0:
				black++
			}
		}
	}
	if red < 500 {
		t.Errorf("%d red pixels: the lines are missing", red)
	}
	if black < 2000 {
		t.Errorf("%d black pixels: axes and text are missing", black)
	}
}

// TestRedrawChart redraws the p99 chart from the results a run wrote
// (STATUSBRIDGE_BENCH_REDRAW names them) into STATUSBRIDGE_BENCH_PNG,
// without measuring again.
func TestRedrawChart(t *testing.T) {
	in, out := os.Getenv("STATUSBRIDGE_BENCH_REDRAW"), os.Getenv("STATUSBRIDGE_BENCH_PNG")
	if in == "" || out == "" {
		t.Skip("set STATUSBRIDGE_BENCH_REDRAW and STATUSBRIDGE_BENCH_PNG to redraw a chart")
	}
	b, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	var results []Result
	for _, line := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var r Result
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		results = append(results, r)
	}
	var buf bytes.Buffer
	if err := LatencyChart(results).WritePNG(&buf); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
