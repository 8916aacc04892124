package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Request is one signed Slack delivery, ready to send.
type Request struct {
	Body      []byte
	Timestamp string
	Signature string
}

// Result is what one phase of load measured against one target.
type Result struct {
	Target string `json:"target"`
	Store  string `json:"store"`
	// Kind is "bridge", "floor" or "reference" (BridgeAppend).
	Kind string `json:"kind"`
	// Offered is the offered rate in events per second; 0 for saturation.
	Offered float64 `json:"offered"`
	// InFlight is the number of requests kept in flight at saturation.
	InFlight int `json:"in_flight,omitempty"`
	// Round numbers the saturation phases, which run several rounds of
	// every server in turn (from 1; 0 for an open-loop phase).
	Round   int     `json:"round,omitempty"`
	Sent    int     `json:"sent"`
	Acked   int     `json:"acked"`
	Failed  int     `json:"failed"`
	Seconds float64 `json:"seconds"`
	// Throughput is acknowledged events per second.
	Throughput float64 `json:"throughput"`
	P50ms      float64 `json:"p50_ms"`
	P99ms      float64 `json:"p99_ms"`
	MaxMs      float64 `json:"max_ms"`
	// CPUPerEventMs is the CPU time of the target's processes (the server
	// and its redis-server, if any) per acknowledged event.
	CPUPerEventMs float64 `json:"cpu_per_event_ms"`
	// RedisCPUPerEventMs is the part of CPUPerEventMs that redis-server
	// spent (Redis targets only).
	RedisCPUPerEventMs float64 `json:"redis_cpu_per_event_ms,omitempty"`
	// AOFBytesPerEvent is what Redis appended to its AOF per acknowledged
	// event (Redis targets only).
	AOFBytesPerEvent float64 `json:"aof_bytes_per_event,omitempty"`
}

// Client sends requests over loopback HTTP with enough connections for the
// load it offers.
func Client() *http.Client {
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: time.Second}).DialContext,
			MaxIdleConns:        1024,
			MaxIdleConnsPerHost: 1024,
			MaxConnsPerHost:     1024,
			IdleConnTimeout:     time.Minute,
		},
	}
}

// send posts one request and reports whether it was acknowledged (200).
func send(ctx context.Context, c *http.Client, url string, r Request) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(r.Body))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Slack-Request-Timestamp", r.Timestamp)
	req.Header.Set("X-Slack-Signature", r.Signature)
	resp, err := c.Do(req)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// OpenLoop offers reqs at rate per second, each at its scheduled time
// whether or not earlier ones were answered, and measures each ack's
// latency from its scheduled time (so a stalled server is not hidden by a
// stalled generator).
func OpenLoop(ctx context.Context, c *http.Client, url string, rate float64, reqs []Request) (lat []time.Duration, failed int, took time.Duration) {
	interval := time.Duration(float64(time.Second) / rate)
	lat = make([]time.Duration, len(reqs))
	var fails atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for i := range reqs {
		at := start.Add(time.Duration(i) * interval)
		if d := time.Until(at); d > 0 {
			time.Sleep(d)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if !send(ctx, c, url, reqs[i]) {
				fails.Add(1)
				lat[i] = -1
				return
			}
			lat[i] = time.Since(at)
		}()
	}
	wg.Wait()
	return keep(lat), int(fails.Load()), time.Since(start)
}

// Saturate keeps inFlight requests in flight until reqs run out or d
// passes, and measures each ack's latency from its send.
func Saturate(ctx context.Context, c *http.Client, url string, inFlight int, d time.Duration, reqs []Request) (lat []time.Duration, failed int, took time.Duration) {
	lat = make([]time.Duration, len(reqs))
	for i := range lat {
		lat[i] = -2 // not sent
	}
	var next, fails atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for range inFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				i := int(next.Add(1) - 1)
				if i >= len(reqs) {
					return
				}
				t := time.Now()
				if !send(ctx, c, url, reqs[i]) {
					fails.Add(1)
					lat[i] = -1
					continue
				}
				lat[i] = time.Since(t)
			}
		}()
	}
	wg.Wait()
	return keep(lat), int(fails.Load()), time.Since(start)
}

// keep drops the latencies of failed and unsent requests, sorted.
func keep(lat []time.Duration) []time.Duration {
	out := lat[:0]
	for _, l := range lat {
		if l >= 0 {
			out = append(out, l)
		}
	}
	slices.Sort(out)
	return out
}

// Percentile is the p-th percentile (0 < p ≤ 100) of sorted latencies, in
// milliseconds, by the nearest-rank method; 0 when there are none.
func Percentile(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(float64(len(sorted))*p/100+0.999999) - 1
	rank = max(0, min(rank, len(sorted)-1))
	return float64(sorted[rank]) / float64(time.Millisecond)
}

// ProcCPU is the CPU time (user + system) a process has used so far, read
// from /proc/<pid>/stat.
func ProcCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces; fields resume after its ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(s[i+1:])
	// After the name: state is field 3, utime 14 and stime 15 (1-based).
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: utime %q stime %q", pid, f[11], f[12])
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

// clockTicks is USER_HZ, the unit of /proc's CPU times; 100 on every Linux
// architecture Go supports.
const clockTicks = 100

// CPU sums ProcCPU over pids.
func CPU(pids ...int) (time.Duration, error) {
	var sum time.Duration
	for _, p := range pids {
		d, err := ProcCPU(p)
		if err != nil {
			return 0, err
		}
		sum += d
	}
	return sum, nil
}
