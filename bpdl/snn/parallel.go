package snn

import "sync"

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
