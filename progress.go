package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// progress shows how far a long admin command got, on standard error: a bar
// redrawn in place on a terminal, plain lines otherwise (a log file, a
// pipe), so standard output keeps only the command's result.
type progress struct {
	w     io.Writer
	tty   bool
	label string // what is counted, such as "rows imported"
	total int    // 0 when not known
	every int    // the smallest step between plain lines
	next  int    // the count at which the next plain line is due
	shown int    // the count last shown
	drawn time.Time
	now   func() time.Time
}

// newProgress reports counts of label on w; total is the count at the end,
// 0 when not known. Plain lines come every `every` counts at first, then
// further apart (a tenth of the count), so that 100,000 rows make a few
// dozen lines.
func newProgress(w io.Writer, label string, total, every int) *progress {
	return &progress{w: w, tty: isTerminal(w), label: label, total: total, every: max(every, 1), next: max(every, 1), now: time.Now}
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Set reports that the count reached n.
func (p *progress) Set(n int) {
	if p == nil {
		return
	}
	if p.tty {
		// Redraw at most ten times a second.
		if t := p.now(); t.Sub(p.drawn) >= 100*time.Millisecond {
			p.drawn = t
			p.draw(n)
		}
		return
	}
	if n < p.next {
		return
	}
	p.line(n)
	p.next = n + max(p.every, n/10)
}

// Done shows the final count n and ends the bar's line.
func (p *progress) Done(n int) {
	if p == nil {
		return
	}
	if p.tty {
		p.draw(n)
		fmt.Fprintln(p.w)
		return
	}
	if n != p.shown && n >= p.every {
		p.line(n)
	}
}

func (p *progress) line(n int) {
	p.shown = n
	if p.total > 0 {
		fmt.Fprintf(p.w, "… %d/%d %s\n", n, p.total, p.label)
		return
	}
	fmt.Fprintf(p.w, "… %d %s\n", n, p.label)
}

// barWidth is the number of cells of the bar.
const barWidth = 30

func (p *progress) draw(n int) {
	p.shown = n
	if p.total <= 0 {
		fmt.Fprintf(p.w, "\r\033[K… %d %s", n, p.label)
		return
	}
	frac := min(float64(n)/float64(p.total), 1)
	full := int(frac * barWidth)
	fmt.Fprintf(p.w, "\r\033[K[%s%s] %3.0f%% %d/%d %s",
		strings.Repeat("█", full), strings.Repeat("░", barWidth-full), frac*100, n, p.total, p.label)
}
