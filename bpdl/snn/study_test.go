package snn

import (
	"slices"
	"testing"
)

// TestStudyNetIsSilent checks the study's net at initialisation on real MNIST test images, as measured
// with the original code: no hidden neuron ever fires in 100 steps, so every image gets the same output.
func TestStudyNetIsSilent(t *testing.T) {
	ds, err := loadOffline("mnist")
	if err != nil {
		t.Skipf("MNIST is not on this machine: %v", err)
	}
	test := ds.Test.Head(4)
	for seed := uint64(1); seed <= 3; seed++ {
		n, err := New(Study(), test.Dim, test.Classes, seed)
		if err != nil {
			t.Fatal(err)
		}
		p, err := n.Probe(test.X, test.Y)
		if err != nil {
			t.Fatal(err)
		}
		if p.Spikes[0] == 0 {
			t.Errorf("seed %d: no input spikes: the encoder is broken", seed)
		}
		for l, s := range p.Spikes[1:] {
			if s != 0 {
				t.Errorf("seed %d: hidden layer %d fired %d times, want 0", seed, l+1, s)
			}
		}
		logits, err := n.Logits(test.X, test.N)
		if err != nil {
			t.Fatal(err)
		}
		c := test.Classes
		for b := 1; b < test.N; b++ {
			if !slices.Equal(logits[:c], logits[b*c:(b+1)*c]) {
				t.Errorf("seed %d: image %d has logits %v, image 0 %v; want the same", seed, b, logits[b*c:(b+1)*c], logits[:c])
			}
		}
		t.Logf("seed %d: input spikes %d (rate %.4f), hidden spikes %v, logits %v", seed, p.Spikes[0], p.Rates[0], p.Spikes[1:], logits[:c])
	}
}
