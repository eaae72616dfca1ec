package train

import (
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progressStep is the fraction of an epoch between two plain progress lines.
const progressStep = 0.1

// progress reports an epoch's progress to a writer. On a terminal it draws a progress bar, redrawn in
// place; anywhere else (a CI log, docker logs, a file) a bar would be thousands of carriage-return
// lines, so it writes one plain line every progressStep of the epoch and one at its end, each with the
// mean loss so far and the examples per second. A nil *progress reports nothing.
type progress struct {
	w      io.Writer
	desc   string
	total  int
	bar    *progressbar.ProgressBar // on a terminal
	done   int
	lines  int // plain lines written before the end
	start  time.Time
	loss   float64
	closed bool
}

// newProgress returns the reporter of an epoch of total examples described by desc ("bp epoch 1/25"),
// drawing a bar when w is a terminal (isTerminal); nil when w is nil.
func newProgress(w io.Writer, desc string, total int) *progress {
	if w == nil {
		return nil
	}
	return newProgressMode(w, desc, total, isTerminal(w))
}

// newProgressMode is newProgress with the terminal decision made by the caller.
func newProgressMode(w io.Writer, desc string, total int, terminal bool) *progress {
	p := &progress{w: w, desc: desc, total: total, start: time.Now()}
	if terminal {
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(desc),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("ex"),
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionClearOnFinish(),
		)
	}
	return p
}

// isTerminal reports whether w is a terminal: an *os.File (or anything with a file descriptor) that is
// a character device the terminal driver answers for.
func isTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}

// due returns the number of examples after which the k-th plain line is due.
func (p *progress) due(k int) int {
	return max(1, int(float64(k)*progressStep*float64(p.total)+0.5))
}

// add records n more examples, with meanLoss the epoch's mean loss so far.
func (p *progress) add(n int, meanLoss float64) {
	if p == nil {
		return
	}
	p.done += n
	p.loss = meanLoss
	if p.bar != nil {
		p.bar.Describe(fmt.Sprintf("%s loss %.4f", p.desc, meanLoss))
		_ = p.bar.Add(n)
		return
	}
	if p.done < p.total && p.done >= p.due(p.lines+1) { // the line at the end is close's
		p.line()
		for p.done >= p.due(p.lines+1) { // a large step may pass several marks: one line for them
			p.lines++
		}
	}
}

// line writes one plain progress line.
func (p *progress) line() {
	secs := time.Since(p.start).Seconds()
	rate := 0.0
	if secs > 0 {
		rate = float64(p.done) / secs
	}
	fmt.Fprintf(p.w, "%s: %3.0f%% (%d/%d examples), loss %.4f, %.0f examples/s\n",
		p.desc, 100*float64(p.done)/float64(max(p.total, 1)), p.done, p.total, p.loss, rate)
}

// close ends the report: it clears the bar, or writes the closing plain line when any example was seen.
func (p *progress) close() {
	if p == nil || p.closed {
		return
	}
	p.closed = true
	if p.bar != nil {
		_ = p.bar.Close()
		return
	}
	if p.done > 0 {
		p.line()
	}
}
