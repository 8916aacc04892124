package bench

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/statusbridge/statusbridge/internal/redistest"
	"github.com/statusbridge/statusbridge/internal/slacktest"
)

// The environment of a server child process: which server, and its Redis
// URL or data dir.
const (
	childEnv    = "STATUSBRIDGE_BENCH_CHILD"
	childArgEnv = "STATUSBRIDGE_BENCH_CHILD_ARG"
	// profileEnv names a directory where each server writes its CPU
	// profile (<name>.pprof) when it stops.
	profileEnv = "STATUSBRIDGE_BENCH_CPUPROFILE"
)

// TestMain runs a server instead of the tests when started as a child by
// TestIntakeAgainstFloor, so that each server's CPU time is its own.
func TestMain(m *testing.M) {
	if name := os.Getenv(childEnv); name != "" {
		os.Exit(child(name))
	}
	os.Exit(m.Run())
}

// child serves the named server until SIGTERM and returns the exit code.
func child(name string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if dir := os.Getenv(profileEnv); dir != "" {
		f, err := os.Create(filepath.Join(dir, name+".pprof"))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	if err := Serve(ctx, name, secret, os.Getenv(childArgEnv), func(addr string) { fmt.Printf("listening %s\n", addr) }); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// target is one server process under load.
type target struct {
	name, store, kind string
	url               string
	pids              []int
}

// startChild starts the test binary as the named server and returns its
// events URL and pid.
func startChild(t *testing.T, name, arg string) (string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+name, childArgEnv+"="+arg)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "listening ") {
		t.Fatalf("%s did not start: %q %v", name, line, err)
	}
	return "http://" + strings.TrimSpace(strings.TrimPrefix(line, "listening ")) + "/slack/events", cmd.Process.Pid
}

// redisPid asks a redis-server for its process id.
// aofSize returns the size of Redis's AOF for a Redis target (0 for others),
// once every write so far has reached it.
func aofSize(t *testing.T, srv *redistest.Server, tg *target) int64 {
	t.Helper()
	if tg.store != "redis" {
		return 0
	}
	info, err := srv.Do("INFO", "persistence")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "aof_current_size:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err == nil {
				return n
			}
		}
	}
	t.Fatalf("redis INFO persistence has no aof_current_size")
	return 0
}

func redisPid(t *testing.T, srv *redistest.Server) int {
	t.Helper()
	info, err := srv.Do("INFO", "server")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "process_id:"); ok {
			pid, err := strconv.Atoi(v)
			if err == nil {
				return pid
			}
		}
	}
	t.Fatalf("redis INFO has no process_id")
	return 0
}

// generator makes signed status events, each a distinct change of one of
// 20,000 users. Their times run a microsecond apart from when they were
// made, so that however many a run sends, none is dated more than the
// bridge's clock skew ahead (it would be ordered by its arrival instead).
type generator struct{ n int }

func (g *generator) next(count int) []Request {
	now := time.Now()
	out := make([]Request, count)
	for i := range out {
		g.n++
		body := slacktest.StatusEvent("user_status_changed", fmt.Sprintf("EvI%010d", g.n), "T0BENCH01",
			fmt.Sprintf("U%08d", g.n%20000), now.Add(time.Duration(g.n)*time.Microsecond), fmt.Sprintf("In a meeting %d", g.n), ":calendar:", 0)
		ts, sig := slacktest.Sign(secret, now, body)
		out[i] = Request{Body: body, Timestamp: ts, Signature: sig}
	}
	return out
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// TestIntakeAgainstFloor offers signed events over loopback HTTP to the
// bridge's intake and to its floors, side by side in one run: open loop at
// fixed rates, then saturation with 32 and with 64 requests in flight, several
// rounds of every server in turn (STATUSBRIDGE_BENCH_ROUNDS, default 5). It writes one
// JSON line per target and phase to STATUSBRIDGE_BENCH_OUT and the p99
// chart to STATUSBRIDGE_BENCH_PNG. It runs only with
// STATUSBRIDGE_BENCH_INTAKE=1 (about six minutes; see
// scripts/bench-intake.sh). For a quicker look, STATUSBRIDGE_BENCH_TARGETS
// names the servers to measure (comma-separated, default all),
// STATUSBRIDGE_BENCH_RATES=none leaves only the saturation phases,
// STATUSBRIDGE_BENCH_INFLIGHT lists their requests in flight (default
// 32,64; the targets are judged at the first), and
// STATUSBRIDGE_BENCH_CPUPROFILE names a directory for each server's CPU
// profile.
func TestIntakeAgainstFloor(t *testing.T) {
	if os.Getenv("STATUSBRIDGE_BENCH_INTAKE") != "1" {
		t.Skip("set STATUSBRIDGE_BENCH_INTAKE=1 to measure the intake against its floor (minutes)")
	}
	rates := []float64{500, 1000, 2000, 4000}
	if v := os.Getenv("STATUSBRIDGE_BENCH_RATES"); v == "none" {
		rates = nil
	} else if v != "" {
		rates = nil
		for _, f := range strings.Split(v, ",") {
			r, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil || r <= 0 {
				t.Fatalf("STATUSBRIDGE_BENCH_RATES: bad rate %q", f)
			}
			rates = append(rates, r)
		}
	}
	phase := time.Duration(envInt("STATUSBRIDGE_BENCH_SECONDS", 3)) * time.Second
	// Saturation runs at each of these many requests in flight; the targets
	// are judged at the first.
	var inFlights []int
	for _, f := range strings.Split(cmp.Or(os.Getenv("STATUSBRIDGE_BENCH_INFLIGHT"), "32,64"), ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			t.Fatalf("STATUSBRIDGE_BENCH_INFLIGHT: bad number of requests in flight %q", f)
		}
		inFlights = append(inFlights, n)
	}

	// Redis rewrites its AOF on its own when the file has doubled: a fork
	// that copies the dataset, which would land in one server's phase and
	// not the other's. Automatic rewrites are off; what each server costs
	// the AOF is measured instead (bytes appended per event).
	srv := redistest.Start(t, "--appendfsync", "everysec", "--auto-aof-rewrite-percentage", "0")
	rpid := redisPid(t, srv)
	dir := t.TempDir()
	var targets []*target
	only := map[string]bool{}
	for _, n := range strings.Split(os.Getenv("STATUSBRIDGE_BENCH_TARGETS"), ",") {
		if n = strings.TrimSpace(n); n != "" {
			only[n] = true
		}
	}
	add := func(name, store, kind, arg string, extra ...int) {
		if len(only) > 0 && !only[name] {
			return
		}
		url, pid := startChild(t, name, arg)
		targets = append(targets, &target{name: name, store: store, kind: kind, url: url, pids: append([]int{pid}, extra...)})
	}
	add(BridgeRedis, "redis", "bridge", srv.URL(), rpid)
	add(FloorRedis, "redis", "floor", srv.URL(), rpid)
	add(BridgeAppend, "redis", "reference", srv.URL(), rpid)
	for _, n := range []string{BridgeEmbedded, FloorBolt, FloorBoltBatch} {
		d := filepath.Join(dir, n)
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		kind := "floor"
		if n == BridgeEmbedded {
			kind = "bridge"
		}
		add(n, "embedded", kind, d)
	}

	ctx := t.Context()
	client := Client()
	gen := &generator{}
	var results []Result
	measure := func(tg *target, rate float64, inFlight int) Result {
		var reqs []Request
		if rate > 0 {
			reqs = gen.next(int(rate * phase.Seconds()))
		} else {
			reqs = gen.next(60000)
		}
		aof0 := aofSize(t, srv, tg)
		before, err := CPU(tg.pids...)
		if err != nil {
			t.Fatal(err)
		}
		redisBefore, err := CPU(tg.pids[1:]...)
		if err != nil {
			t.Fatal(err)
		}
		var lat []time.Duration
		var failed int
		var took time.Duration
		if rate > 0 {
			lat, failed, took = OpenLoop(ctx, client, tg.url, rate, reqs)
		} else {
			lat, failed, took = Saturate(ctx, client, tg.url, inFlight, phase, reqs)
		}
		after, err := CPU(tg.pids...)
		if err != nil {
			t.Fatal(err)
		}
		redisAfter, err := CPU(tg.pids[1:]...)
		if err != nil {
			t.Fatal(err)
		}
		aof1 := aofSize(t, srv, tg)
		r := Result{Target: tg.name, Store: tg.store, Kind: tg.kind, Offered: rate, Sent: len(lat) + failed,
			Acked: len(lat), Failed: failed, Seconds: took.Seconds(), Throughput: float64(len(lat)) / took.Seconds(),
			P50ms: Percentile(lat, 50), P99ms: Percentile(lat, 99), MaxMs: Percentile(lat, 100)}
		if rate == 0 {
			r.InFlight = inFlight
		}
		if len(lat) > 0 {
			r.CPUPerEventMs = float64(after-before) / float64(time.Millisecond) / float64(len(lat))
			if tg.store == "redis" {
				r.AOFBytesPerEvent = float64(aof1-aof0) / float64(len(lat))
				r.RedisCPUPerEventMs = float64(redisAfter-redisBefore) / float64(time.Millisecond) / float64(len(lat))
			}
		}
		// An overloaded server's timeouts are a measurement (the failed
		// column); a server that acknowledges nothing is broken.
		if len(lat) == 0 {
			t.Errorf("%s at %v ev/s: none of %d requests acknowledged", tg.name, rate, r.Sent)
		}
		return r
	}
	// Warm up every server (connections, Go's heap, bbolt's file).
	for _, tg := range targets {
		OpenLoop(ctx, client, tg.url, 1000, gen.next(1000))
	}
	// One phase at a time, every target in turn, so that what else the
	// machine does falls on all of them alike.
	type phaseOf struct {
		rate     float64
		inFlight int
		round    int
	}
	// Saturation is where this shared machine's noise shows most (a
	// neighbour's burst during one server's phase and not the other's):
	// each saturation setting runs several rounds of every server in turn,
	// and the report takes the median of the rounds' ratios.
	rounds := envInt("STATUSBRIDGE_BENCH_ROUNDS", 5)
	var phases []phaseOf
	for _, rate := range rates {
		phases = append(phases, phaseOf{rate: rate})
	}
	for _, n := range inFlights {
		for round := 1; round <= rounds; round++ {
			phases = append(phases, phaseOf{inFlight: n, round: round})
		}
	}
	for _, ph := range phases {
		for _, tg := range targets {
			// The previous server's writes (bbolt's fsyncs, Redis's
			// AOF) reach the disk now, not during this server's phase.
			syscall.Sync()
			time.Sleep(300 * time.Millisecond)
			r := measure(tg, ph.rate, ph.inFlight)
			r.Round = ph.round
			results = append(results, r)
			t.Logf("%-17s offered %5.0f  in flight %3d  round %d  acked %6.0f ev/s  p50 %6.2f ms  p99 %7.2f ms  cpu/event %.3f ms (redis %.3f)  aof/event %4.0f B  failed %d",
				r.Target, r.Offered, r.InFlight, r.Round, r.Throughput, r.P50ms, r.P99ms, r.CPUPerEventMs, r.RedisCPUPerEventMs, r.AOFBytesPerEvent, r.Failed)
		}
	}

	if path := os.Getenv("STATUSBRIDGE_BENCH_OUT"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		enc := json.NewEncoder(f)
		for _, r := range results {
			if err := enc.Encode(r); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if path := os.Getenv("STATUSBRIDGE_BENCH_PNG"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := LatencyChart(results).WritePNG(f); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
