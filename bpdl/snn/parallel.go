package snn

import (
	"sync"
	"sync/atomic"
)

// parallel runs f(0), ..., f(parts-1) concurrently and waits for them; with one part it runs inline.
func parallel(parts int, f func(p int)) {
	if parts == 1 {
		f(0)
		return
	}
	var wg sync.WaitGroup
	for p := 0; p < parts; p++ {
		wg.Go(func() { f(p) })
	}
	wg.Wait()
}

// parallelRange splits [0, n) into at most workers contiguous ranges and runs f(p, lo, hi) on each
// concurrently, p numbering the ranges from 0.
func parallelRange(n, workers int, f func(p, lo, hi int)) {
	if n == 0 {
		return
	}
	parts := max(1, min(workers, n))
	parallel(parts, func(p int) { f(p, p*n/parts, (p+1)*n/parts) })
}

// forEach runs f(worker, i) for every i in [0, n) on up to workers goroutines, each taking the next i
// when it is free (worker numbers the goroutines from 0), and waits for them. Which worker runs an i
// varies from run to run: f must give the same result whichever does.
func forEach(n, workers int, f func(worker, i int)) {
	parts := max(1, min(workers, n))
	if parts == 1 {
		for i := range n {
			f(0, i)
		}
		return
	}
	var next atomic.Int64
	parallel(parts, func(worker int) {
		for {
			i := int(next.Add(1)) - 1
			if i >= n {
				return
			}
			f(worker, i)
		}
	})
}
