package train

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestProgressPlain checks the report written anywhere but a terminal: no carriage return, one line
// per tenth of the epoch however the batches fall, and one at the end with the examples per second.
func TestProgressPlain(t *testing.T) {
	for _, tc := range []struct {
		name         string
		total, batch int
		want         int // lines
	}{
		{"batches divide the tenths", 1000, 10, 10},
		{"uneven batches", 1000, 128, 8},              // 128, 256, 384, 512 (past 400 and 500: one line), ..., 896, the end
		{"batches larger than a tenth", 1000, 250, 4}, // 250, 500, 750, then the end
		{"one batch", 100, 100, 1},
		{"fewer examples than tenths", 3, 1, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			p := newProgressMode(&b, "bp epoch 1/2", tc.total, false)
			for done := 0; done < tc.total; done += tc.batch {
				p.add(min(tc.batch, tc.total-done), 0.5)
			}
			p.close()
			p.close() // a second close writes nothing
			out := b.String()
			if strings.ContainsRune(out, '\r') {
				t.Fatalf("plain report holds a carriage return: %q", out)
			}
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if len(lines) != tc.want {
				t.Fatalf("%d lines, want %d:\n%s", len(lines), tc.want, out)
			}
			last := lines[len(lines)-1]
			for _, want := range []string{"bp epoch 1/2: 100% (", "loss 0.5000", "examples/s"} {
				if !strings.Contains(last, want) {
					t.Errorf("last line %q lacks %q", last, want)
				}
			}
		})
	}
}

// TestProgressTerminal checks that on a terminal the report is a bar redrawn in place.
func TestProgressTerminal(t *testing.T) {
	var b bytes.Buffer
	p := newProgressMode(&b, "fa epoch 2/3", 1000, true)
	for range 10 {
		p.add(100, 0.25)
	}
	p.close()
	out := b.String()
	if !strings.ContainsRune(out, '\r') || !strings.Contains(out, "fa epoch 2/3 loss 0.2500") {
		t.Errorf("terminal report %q: want a bar redrawn with carriage returns, described with the loss", out)
	}
	if strings.Contains(out, "examples/s\n") {
		t.Errorf("terminal report %q holds plain lines", out)
	}
}

// TestIsTerminal checks the decision: a buffer, a file and a pipe are not terminals; the controlling
// terminal, where the tests have one, is.
func TestIsTerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	for name, wr := range map[string]interface{ Write([]byte) (int, error) }{"buffer": &bytes.Buffer{}, "file": f, "pipe": w} {
		if isTerminal(wr) {
			t.Errorf("%s: isTerminal = true", name)
		}
	}
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		defer tty.Close()
		if !isTerminal(tty) {
			t.Error("/dev/tty: isTerminal = false")
		}
	}
	var nilP *progress
	nilP.add(1, 0) // a nil reporter (no writer) reports nothing and does not panic
	nilP.close()
	if newProgress(nil, "x", 1) != nil {
		t.Error("newProgress(nil) is not nil")
	}
}
