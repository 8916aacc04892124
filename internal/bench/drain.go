package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"image/color"
	"io"
	"math"
	"slices"
)

// BurstRun is one Graph burst as e2e TestBurstFindsTheLimit reports it: one
// JSON line in the file STATUSBRIDGE_BENCH_OUT names.
type BurstRun struct {
	// Phase is "first" (the limiter knew nothing of the tenant) or "next" (a
	// later burst, from the rate the fleet learned); empty in older reports.
	Phase string `json:"phase"`
	// Limit is the calls the Graph stand-in allows in any window of PerSeconds.
	Limit      int     `json:"limit"`
	PerSeconds float64 `json:"per_s"`
	// Burst is the number of distinct users changing at once.
	Burst int `json:"burst"`
	// LandSeconds is when every user's Teams message was right.
	LandSeconds float64 `json:"land_s"`
	// Throttled counts the 429 answers, writes and presence reads.
	Throttled int `json:"throttled"`
	// AcceptedAt and ThrottledAt are when each status write was accepted or
	// answered 429, in seconds since the first Slack event, in order.
	AcceptedAt  []float64 `json:"accepted_at_s"`
	ThrottledAt []float64 `json:"throttled_at_s"`
}

// ReadBurstRuns reads the JSON lines of bursts; a run without a limit, a
// window or a timeline is an error.
func ReadBurstRuns(r io.Reader) ([]BurstRun, error) {
	var runs []BurstRun
	dec := json.NewDecoder(bufio.NewReader(r))
	for {
		var run BurstRun
		err := dec.Decode(&run)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("burst %d: %w", len(runs)+1, err)
		}
		if run.Limit <= 0 || run.PerSeconds <= 0 || run.Burst <= 0 || len(run.AcceptedAt) == 0 {
			return nil, fmt.Errorf("burst %d: no limit, window, burst or drain timeline", len(runs)+1)
		}
		runs = append(runs, run)
	}
	if len(runs) == 0 {
		return nil, fmt.Errorf("no bursts")
	}
	return runs, nil
}

// Colours of the drain chart.
var (
	drainColors   = []color.RGBA{{200, 30, 30, 255}, {230, 130, 110, 255}, {30, 80, 200, 255}, {110, 170, 230, 255}}
	drainFloor    = color.RGBA{20, 150, 60, 255}
	drainLimit    = color.RGBA{140, 140, 140, 255}
	drainThrottle = color.RGBA{170, 0, 170, 255}
)

// DrainChart plots how each burst drained against its limit. Time is in
// windows and counts in limits, so every limit shares one chart: x is the
// time since the first Slack event over the window, y the accepted status
// writes over the limit. The limit is the dashed line at 1; the floor,
// the best any schedule can do under a sliding window (the limit at once,
// the next limit one window later, and so on), is a dashed step line; the
// writes answered 429 are crosses on their burst's line.
func DrainChart(runs []BurstRun) Chart {
	c := Chart{Title: "Burst drain against the Graph limit", YLabel: "accepted writes / limit"}
	xend := 0.0
	for _, r := range runs {
		xend = math.Max(xend, math.Max(r.LandSeconds, r.AcceptedAt[len(r.AcceptedAt)-1])/r.PerSeconds)
	}
	var floors []float64
	for _, r := range runs {
		b := float64(r.Burst) / float64(r.Limit)
		xend = math.Max(xend, math.Ceil(b)-1+0.25)
		if !slices.Contains(floors, b) {
			floors = append(floors, b)
		}
	}

	c.XLabel = "time since the first Slack event / window"
	if per := runs[0].PerSeconds; allSame(runs, func(r BurstRun) float64 { return r.PerSeconds }) {
		c.XLabel += fmt.Sprintf(" (%s s)", label(per))
	}
	c.Series = append(c.Series, Series{Name: "limit: calls allowed in one window", Color: drainLimit, Dashed: true, Mark: MarkNone,
		X: []float64{0, xend}, Y: []float64{1, 1}})
	for i, b := range floors {
		name := "floor: the limit at once, the rest one window later"
		if i > 0 {
			name = ""
		}
		c.Series = append(c.Series, floorSeries(name, b, xend))
	}
	throttled := Series{Name: "a write answered 429", Color: drainThrottle, Mark: MarkCross, NoLine: true}
	for i, r := range runs {
		name := fmt.Sprintf("limit %d per %s s, burst %d: accepted writes, 429 answers: %d", r.Limit, label(r.PerSeconds), r.Burst, r.Throttled)
		if r.Phase != "" {
			name = r.Phase + " burst, " + name
		}
		s := Series{
			Name:  name,
			Color: drainColors[i%len(drainColors)], Mark: MarkNone,
			X: []float64{0}, Y: []float64{0},
		}
		n := float64(r.Limit)
		for k, at := range r.AcceptedAt {
			x := at / r.PerSeconds
			s.X = append(s.X, x, x)
			s.Y = append(s.Y, float64(k)/n, float64(k+1)/n)
		}
		s.X = append(s.X, math.Max(r.LandSeconds, r.AcceptedAt[len(r.AcceptedAt)-1])/r.PerSeconds)
		s.Y = append(s.Y, float64(len(r.AcceptedAt))/n)
		c.Series = append(c.Series, s)
		// Each 429 sits on the line, at the writes accepted by then.
		k := 0
		for _, at := range r.ThrottledAt {
			for k < len(r.AcceptedAt) && r.AcceptedAt[k] <= at {
				k++
			}
			throttled.X = append(throttled.X, at/r.PerSeconds)
			throttled.Y = append(throttled.Y, float64(k)/n)
		}
	}
	if len(throttled.X) > 0 {
		c.Series = append(c.Series, throttled)
	}
	return c
}

// floorSeries is the floor of a burst of b limits (b = burst / limit) in
// the drain chart's units: the limit goes at once and one more limit each
// window, until the burst is done; the line runs on to xend.
func floorSeries(name string, b, xend float64) Series {
	s := Series{Name: name, Color: drainFloor, Dashed: true, Mark: MarkNone, X: []float64{0}, Y: []float64{0}}
	for k := 0.0; ; k++ {
		y := math.Min(b, k+1)
		s.X, s.Y = append(s.X, k), append(s.Y, y)
		if y >= b {
			break
		}
		s.X, s.Y = append(s.X, k+1), append(s.Y, y)
	}
	s.X, s.Y = append(s.X, math.Max(xend, s.X[len(s.X)-1])), append(s.Y, b)
	return s
}

func allSame(runs []BurstRun, f func(BurstRun) float64) bool {
	for _, r := range runs {
		if f(r) != f(runs[0]) {
			return false
		}
	}
	return true
}
