package bench

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
	"strings"
)

// Mark is what a chart draws at each point of a series.
type Mark int

const (
	// MarkSquare is a filled square (the default).
	MarkSquare Mark = iota
	// MarkNone draws nothing: the line only, for dense series.
	MarkNone
	// MarkCross is an x, for events along another series.
	MarkCross
)

// Series is one line of a chart: points in data units, drawn in Color.
type Series struct {
	// Name is the series' legend entry; an empty name has none.
	Name  string
	Color color.RGBA
	// Dashed draws the line in dashes (for floors).
	Dashed bool
	// Mark is drawn at each point; NoLine draws the marks alone.
	Mark   Mark
	NoLine bool
	X, Y   []float64
}

// Chart is a line chart with axes, ticks and a legend, drawn with the
// standard library only.
type Chart struct {
	Title          string
	XLabel, YLabel string
	// LogY draws the y axis in powers of ten (values must be positive).
	LogY          bool
	Series        []Series
	Width, Height int
}

// glyphs is a 3×5 pixel font: each glyph is five rows of three pixels,
// '#' for ink.
var glyphs = map[rune][5]string{
	'0': {"###", "#.#", "#.#", "#.#", "###"}, '1': {".#.", "##.", ".#.", ".#.", "###"},
	'2': {"###", "..#", "###", "#..", "###"}, '3': {"###", "..#", "###", "..#", "###"},
	'4': {"#.#", "#.#", "###", "..#", "..#"}, '5': {"###", "#..", "###", "..#", "###"},
	'6': {"###", "#..", "###", "#.#", "###"}, '7': {"###", "..#", ".#.", ".#.", ".#."},
	'8': {"###", "#.#", "###", "#.#", "###"}, '9': {"###", "#.#", "###", "..#", "###"},
	'A': {".#.", "#.#", "###", "#.#", "#.#"}, 'B': {"##.", "#.#", "##.", "#.#", "##."},
	'C': {"###", "#..", "#..", "#..", "###"}, 'D': {"##.", "#.#", "#.#", "#.#", "##."},
	'E': {"###", "#..", "##.", "#..", "###"}, 'F': {"###", "#..", "##.", "#..", "#.."},
	'G': {"###", "#..", "#.#", "#.#", "###"}, 'H': {"#.#", "#.#", "###", "#.#", "#.#"},
	'I': {"###", ".#.", ".#.", ".#.", "###"}, 'J': {"..#", "..#", "..#", "#.#", "###"},
	'K': {"#.#", "#.#", "##.", "#.#", "#.#"}, 'L': {"#..", "#..", "#..", "#..", "###"},
	'M': {"#.#", "###", "###", "#.#", "#.#"}, 'N': {"##.", "#.#", "#.#", "#.#", "#.#"},
	'O': {"###", "#.#", "#.#", "#.#", "###"}, 'P': {"###", "#.#", "###", "#..", "#.."},
	'Q': {"###", "#.#", "#.#", "###", "..#"}, 'R': {"##.", "#.#", "##.", "#.#", "#.#"},
	'S': {".##", "#..", ".#.", "..#", "##."}, 'T': {"###", ".#.", ".#.", ".#.", ".#."},
	'U': {"#.#", "#.#", "#.#", "#.#", "###"}, 'V': {"#.#", "#.#", "#.#", "#.#", ".#."},
	'W': {"#.#", "#.#", "###", "###", "#.#"}, 'X': {"#.#", "#.#", ".#.", "#.#", "#.#"},
	'Y': {"#.#", "#.#", ".#.", ".#.", ".#."}, 'Z': {"###", "..#", ".#.", "#..", "###"},
	'.': {"...", "...", "...", "...", ".#."}, '-': {"...", "...", "###", "...", "..."},
	'/': {"..#", "..#", ".#.", "#..", "#.."}, '(': {".#.", "#..", "#..", "#..", ".#."},
	')': {".#.", "..#", "..#", "..#", ".#."}, ',': {"...", "...", "...", ".#.", "#.."},
	':': {"...", ".#.", "...", ".#.", "..."}, ' ': {"...", "...", "...", "...", "..."},
}

// textScale is how many screen pixels one font pixel takes.
const textScale = 2

// textWidth is the width of s in pixels.
func textWidth(s string) int { return len([]rune(s)) * 4 * textScale }

// drawText writes s (upper-cased) with its top-left corner at (x, y).
func drawText(img draw.Image, x, y int, s string, c color.Color) {
	for _, r := range strings.ToUpper(s) {
		g, ok := glyphs[r]
		if !ok {
			g = glyphs['-']
		}
		for row, line := range g {
			for col, px := range line {
				if px != '#' {
					continue
				}
				for dy := range textScale {
					for dx := range textScale {
						img.Set(x+col*textScale+dx, y+row*textScale+dy, c)
					}
				}
			}
		}
		x += 4 * textScale
	}
}

// drawLine draws a line two pixels thick from (x0, y0) to (x1, y1); dashed
// leaves gaps.
func drawLine(img draw.Image, x0, y0, x1, y1 float64, c color.Color, dashed bool) {
	n := int(math.Max(math.Abs(x1-x0), math.Abs(y1-y0))) + 1
	for i := 0; i <= n; i++ {
		if dashed && (i/6)%2 == 1 {
			continue
		}
		t := float64(i) / float64(n)
		x, y := int(math.Round(x0+(x1-x0)*t)), int(math.Round(y0+(y1-y0)*t))
		img.Set(x, y, c)
		img.Set(x+1, y, c)
		img.Set(x, y+1, c)
		img.Set(x+1, y+1, c)
	}
}

// fillRect fills the rectangle [x0,x1)×[y0,y1).
func fillRect(img draw.Image, x0, y0, x1, y1 int, c color.Color) {
	draw.Draw(img, image.Rect(x0, y0, x1, y1), image.NewUniform(c), image.Point{}, draw.Src)
}

// niceStep is a round tick step giving about n ticks up to max.
func niceStep(max float64, n int) float64 {
	if max <= 0 {
		return 1
	}
	raw := max / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			return m * mag
		}
	}
	return 10 * mag
}

// label formats a tick value briefly.
func label(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.2f", v), "0"), ".")
}

// frame is where a chart's plot area lies and how data units map to pixels.
type frame struct {
	w, h                     int
	left, right, top, bottom int
	xmax                     float64
	xticks, yticks           []float64
	px, py                   func(float64) float64
}

// frame lays the chart out: its size, its axes' ranges and ticks.
func (c Chart) frame() frame {
	f := frame{w: c.Width, h: c.Height}
	if f.w <= 0 {
		f.w = 900
	}
	if f.h <= 0 {
		f.h = 540
	}
	f.left, f.right, f.top, f.bottom = 80, f.w-30, 50, f.h-60
	left, right, top, bottom := f.left, f.right, f.top, f.bottom
	var xmax, ymax float64
	for _, s := range c.Series {
		for i := range s.X {
			xmax = math.Max(xmax, s.X[i])
			ymax = math.Max(ymax, s.Y[i])
		}
	}
	xstep := niceStep(xmax, 8)
	xmax = math.Ceil(xmax/xstep) * xstep
	f.xmax = xmax
	f.px = func(x float64) float64 { return float64(left) + x/xmax*float64(right-left) }
	if c.LogY {
		ymin := math.Inf(1)
		for _, s := range c.Series {
			for _, y := range s.Y {
				if y > 0 {
					ymin = math.Min(ymin, y)
				}
			}
		}
		lo, hi := math.Floor(math.Log10(ymin)), math.Ceil(math.Log10(ymax))
		if math.IsInf(lo, 0) || hi <= lo {
			lo, hi = 0, 1
		}
		f.py = func(y float64) float64 {
			v := math.Log10(math.Max(y, math.Pow(10, lo)))
			return float64(bottom) - (v-lo)/(hi-lo)*float64(bottom-top)
		}
		for e := lo; e <= hi; e++ {
			f.yticks = append(f.yticks, math.Pow(10, e))
		}
	} else {
		ystep := niceStep(ymax*1.1, 6)
		ymax = math.Ceil(ymax*1.1/ystep) * ystep
		f.py = func(y float64) float64 { return float64(bottom) - y/ymax*float64(bottom-top) }
		for v := 0.0; v <= ymax+ystep/2; v += ystep {
			f.yticks = append(f.yticks, v)
		}
	}
	for v := 0.0; v <= xmax+xstep/2; v += xstep {
		f.xticks = append(f.xticks, v)
	}
	return f
}

// drawMark draws m centred on (x, y).
func drawMark(img draw.Image, x, y int, m Mark, c color.Color) {
	switch m {
	case MarkSquare:
		fillRect(img, x-3, y-3, x+4, y+4, c)
	case MarkCross:
		drawLine(img, float64(x-4), float64(y-4), float64(x+4), float64(y+4), c, false)
		drawLine(img, float64(x-4), float64(y+4), float64(x+4), float64(y-4), c, false)
	}
}

// Draw renders the chart as an RGBA image.
func (c Chart) Draw() *image.RGBA {
	f := c.frame()
	w, h := f.w, f.h
	left, right, top, bottom := f.left, f.right, f.top, f.bottom
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	white, black, grid := color.RGBA{255, 255, 255, 255}, color.RGBA{0, 0, 0, 255}, color.RGBA{225, 225, 225, 255}
	fillRect(img, 0, 0, w, h, white)
	for _, v := range f.yticks {
		y := int(f.py(v))
		fillRect(img, left, y, right, y+1, grid)
		l := label(v)
		drawText(img, left-8-textWidth(l), y-5, l, black)
	}
	for _, v := range f.xticks {
		x := int(f.px(v))
		fillRect(img, x, top, x+1, bottom, grid)
		l := label(v)
		drawText(img, x-textWidth(l)/2, bottom+8, l, black)
	}
	fillRect(img, left, top, left+2, bottom+1, black)
	fillRect(img, left, bottom, right, bottom+2, black)
	drawText(img, left, 15, c.Title, black)
	drawText(img, (left+right-textWidth(c.XLabel))/2, h-25, c.XLabel, black)
	drawText(img, 8, top-22, c.YLabel, black)
	for _, s := range c.Series {
		for i := 1; i < len(s.X) && !s.NoLine; i++ {
			drawLine(img, f.px(s.X[i-1]), f.py(s.Y[i-1]), f.px(s.X[i]), f.py(s.Y[i]), s.Color, s.Dashed)
		}
		for i := range s.X {
			drawMark(img, int(f.px(s.X[i])), int(f.py(s.Y[i])), s.Mark, s.Color)
		}
	}
	// The legend, top left inside the plot.
	lx, ly := left+15, top+10
	for _, s := range c.Series {
		if s.Name == "" {
			continue
		}
		if s.NoLine {
			drawMark(img, lx+15, ly+4, s.Mark, s.Color)
		} else {
			drawLine(img, float64(lx), float64(ly+4), float64(lx+30), float64(ly+4), s.Color, s.Dashed)
		}
		drawText(img, lx+40, ly, s.Name, black)
		ly += 18
	}
	return img
}

// WritePNG encodes the chart as PNG.
func (c Chart) WritePNG(w io.Writer) error { return png.Encode(w, c.Draw()) }

// seriesStyle is how each server's line is drawn.
var seriesStyle = map[string]struct {
	color  color.RGBA
	dashed bool
}{
	BridgeRedis:    {color.RGBA{200, 30, 30, 255}, false},
	FloorRedis:     {color.RGBA{200, 30, 30, 255}, true},
	BridgeEmbedded: {color.RGBA{30, 80, 200, 255}, false},
	FloorBolt:      {color.RGBA{30, 80, 200, 255}, true},
	FloorBoltBatch: {color.RGBA{20, 150, 60, 255}, true},
	BridgeAppend:   {color.RGBA{120, 120, 120, 255}, true},
}

// LatencyChart plots each server's p99 ack latency against the offered
// load of the open-loop phases of results (saturation phases are left out).
func LatencyChart(results []Result) Chart {
	c := Chart{Title: "Ack latency p99 against offered load", XLabel: "offered load (events/s)", YLabel: "p99 (ms, log scale)", LogY: true}
	var order []string
	byTarget := map[string]*Series{}
	for _, r := range results {
		if r.Offered <= 0 {
			continue
		}
		s, ok := byTarget[r.Target]
		if !ok {
			st := seriesStyle[r.Target]
			s = &Series{Name: r.Target, Color: st.color, Dashed: st.dashed}
			byTarget[r.Target] = s
			order = append(order, r.Target)
		}
		s.X = append(s.X, r.Offered)
		s.Y = append(s.Y, r.P99ms)
	}
	for _, n := range order {
		c.Series = append(c.Series, *byTarget[n])
	}
	return c
}
