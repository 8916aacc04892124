package bench

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestFloorSeries(t *testing.T) {
	tests := []struct {
		b, xend float64
		x, y    []float64
	}{
		{1.5, 2, []float64{0, 0, 1, 1, 2}, []float64{0, 1, 1, 1.5, 1.5}},
		{2.5, 3, []float64{0, 0, 1, 1, 2, 2, 3}, []float64{0, 1, 1, 2, 2, 2.5, 2.5}},
		{0.5, 1, []float64{0, 0, 1}, []float64{0, 0.5, 0.5}},
		{2, 0.5, []float64{0, 0, 1, 1, 1}, []float64{0, 1, 1, 2, 2}},
	}
	for _, tt := range tests {
		s := floorSeries("floor", tt.b, tt.xend)
		if !reflect.DeepEqual(s.X, tt.x) || !reflect.DeepEqual(s.Y, tt.y) {
			t.Errorf("floor of %g limits to %g: x %v y %v, want x %v y %v", tt.b, tt.xend, s.X, s.Y, tt.x, tt.y)
		}
	}
}

// spread returns n times evenly spread over [from, to].
func spread(n int, from, to float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = from + (to-from)*float64(i)/float64(n-1)
	}
	return out
}

// knownRuns is a drain of each documented limit: the limit in the first
// window, the rest in the second, and a few 429s.
func knownRuns() []BurstRun {
	return []BurstRun{
		{Limit: 150, PerSeconds: 3, Burst: 225, LandSeconds: 3.9, Throttled: 1,
			AcceptedAt: append(spread(150, 0.2, 0.5), spread(75, 3.2, 3.5)...), ThrottledAt: []float64{0.6}},
		{Limit: 1000, PerSeconds: 3, Burst: 1500, LandSeconds: 5.4, Throttled: 2,
			AcceptedAt: append(spread(1000, 0.3, 2.9), spread(500, 3.1, 5.0)...), ThrottledAt: []float64{2.95, 3.0}},
	}
}

func TestReadBurstRuns(t *testing.T) {
	in := `{"phase":"first","limit":150,"per_s":3,"burst":225,"land_s":3.99,"floor_s":3,"ratio":1.33,"throttled":1,"graph_calls":233,` +
		`"accepted_at_s":[0.25,0.5],"throttled_at_s":[0.75]}
{"limit":1000,"per_s":3,"burst":1500,"land_s":5.44,"throttled":0,"accepted_at_s":[1],"throttled_at_s":[]}
`
	runs, err := ReadBurstRuns(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []BurstRun{
		{Phase: "first", Limit: 150, PerSeconds: 3, Burst: 225, LandSeconds: 3.99, Throttled: 1, AcceptedAt: []float64{0.25, 0.5}, ThrottledAt: []float64{0.75}},
		{Limit: 1000, PerSeconds: 3, Burst: 1500, LandSeconds: 5.44, AcceptedAt: []float64{1}, ThrottledAt: []float64{}},
	}
	if !reflect.DeepEqual(runs, want) {
		t.Errorf("runs = %+v, want %+v", runs, want)
	}
	for _, bad := range []string{
		"",
		`{"limit":150,"per_s":3,"burst":225,"land_s":3.99}`, // a report without its timeline
		`{"limit":150,"per_s":3,"burst":225,"accepted_at_s":[1]} {"limit":`,
	} {
		if _, err := ReadBurstRuns(strings.NewReader(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// near reports whether a pixel of colour c lies within dx, dy of (x, y).
func near(img image.Image, x, y, dx, dy int, c color.RGBA) bool {
	for j := y - dy; j <= y+dy; j++ {
		for i := x - dx; i <= x+dx; i++ {
			r, g, b, _ := img.At(i, j).RGBA()
			if uint8(r>>8) == c.R && uint8(g>>8) == c.G && uint8(b>>8) == c.B {
				return true
			}
		}
	}
	return false
}

// TestDrainChart draws a known drain and checks where the floor, the limit,
// the bursts and the 429s land on the picture.
func TestDrainChart(t *testing.T) {
	runs := knownRuns()
	c := DrainChart(runs)
	var buf bytes.Buffer
	if err := c.WritePNG(&buf); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 900 || b.Dy() != 540 {
		t.Fatalf("size %v", b)
	}
	f := c.frame()
	if f.xmax != 2 {
		t.Errorf("x runs to %g windows, want 2 (the slower burst landed at 1.8)", f.xmax)
	}
	at := func(x, y float64) (int, int) { return int(f.px(x)), int(f.py(y)) }
	red, blue := drainColors[0], drainColors[1]
	checks := []struct {
		what string
		x, y float64
		c    color.RGBA
		want bool
	}{
		// The floor is the limit in the first window, 1.5 limits after it.
		{"floor in the first window", 0.1, 1, drainFloor, true},
		{"floor above the limit in the first window", 0.5, 1.5, drainFloor, false},
		{"floor in the second window", 1.5, 1.5, drainFloor, true},
		{"floor at the limit in the second window", 1.5, 1, drainFloor, false},
		{"floor's step at one window", 1, 1.25, drainFloor, true},
		{"limit in the second window", 1.5, 1, drainLimit, true},
		// The smaller burst: the limit by 0.5 s, all of it by 3.5 s, landed at 3.9 s.
		{"limit150 after its first window's writes", 0.3, 1, red, true},
		{"limit150 before its first write", 0.03, 0.5, red, false},
		{"limit150 landed", 1.25, 1.5, red, true},
		{"limit1000 halfway through its first window", 0.535, 0.5, blue, true},
		{"limit1000 landed", 1.75, 1.5, blue, true},
		{"a 429 of limit150", 0.2, 1, drainThrottle, true},
		{"a 429 of limit1000", 1, 1, drainThrottle, true},
	}
	for _, ck := range checks {
		x, y := at(ck.x, ck.y)
		if got := near(img, x, y, 8, 8, ck.c); got != ck.want {
			t.Errorf("%s: colour %v near (%d, %d) = %v, want %v", ck.what, ck.c, x, y, got, ck.want)
		}
	}
	if n := len(c.Series); n != 5 {
		t.Errorf("%d series, want the limit, the floor, two bursts and the 429s", n)
	}
	if name := c.Series[2].Name; name != "limit 150 per 3 s, burst 225: accepted writes, 429 answers: 1" {
		t.Errorf("the smaller burst's legend is %q", name)
	}
}

// TestDrawBurstDrain draws the drain chart of the bursts a run of e2e
// TestBurstFindsTheLimit reported (STATUSBRIDGE_BENCH_BURST names the file)
// into STATUSBRIDGE_BENCH_PNG.
func TestDrawBurstDrain(t *testing.T) {
	in, out := os.Getenv("STATUSBRIDGE_BENCH_BURST"), os.Getenv("STATUSBRIDGE_BENCH_PNG")
	if in == "" || out == "" {
		t.Skip("set STATUSBRIDGE_BENCH_BURST and STATUSBRIDGE_BENCH_PNG to draw the burst drain chart")
	}
	fh, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	runs, err := ReadBurstRuns(fh)
	if err != nil {
		t.Fatalf("%s: %v", in, err)
	}
	var buf bytes.Buffer
	if err := DrainChart(runs).WritePNG(&buf); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
