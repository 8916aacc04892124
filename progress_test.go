package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestProgressPlainLinesThinOut(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf, "rows imported", 100_000, 500)
	for n := 1000; n <= 100_000; n += 1000 {
		p.Set(n)
	}
	p.Done(100_000)
	out := buf.String()
	if !strings.HasPrefix(out, "… 1000/100000 rows imported\n") || !strings.HasSuffix(out, "… 100000/100000 rows imported\n") {
		t.Fatalf("lines:\n%s", out)
	}
	if n := strings.Count(out, "\n"); n > 40 || n < 10 {
		t.Fatalf("%d lines for 100,000 rows, want a few dozen:\n%s", n, out)
	}
	if strings.ContainsAny(out, "\r\033") {
		t.Fatalf("plain output holds terminal controls: %q", out)
	}
}

func TestProgressBarOnATerminal(t *testing.T) {
	var buf bytes.Buffer
	clock := time.Unix(0, 0)
	p := newProgress(&buf, "users read", 200, 50)
	p.tty, p.now = true, func() time.Time { return clock }
	p.Set(50)
	p.Set(60) // within 100 ms of the last draw: not drawn
	clock = clock.Add(time.Second)
	p.Set(100)
	p.Done(200)
	out := buf.String()
	if strings.Count(out, "\r") != 3 || strings.Contains(out, "60/200") {
		t.Fatalf("want three draws (50, 100, 200), got %q", out)
	}
	if !strings.Contains(out, " 50% 100/200 users read") || !strings.HasSuffix(out, "100% 200/200 users read\n") {
		t.Fatalf("bar: %q", out)
	}
	if isTerminal(&buf) {
		t.Fatal("a buffer is not a terminal")
	}
}
