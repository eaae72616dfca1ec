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

// parallelRange splits [0, n) into at most workers contiguous ranges and runs f on each concurrently.
func parallelRange(n, workers int, f func(lo, hi int)) {
	if n == 0 {
		return
	}
	parts := max(1, min(workers, n))
	parallel(parts, func(p int) { f(p*n/parts, (p+1)*n/parts) })
}

// split cuts [0, n) into at most parts ranges of nearly equal size whose inner bounds are multiples of
// align, and returns the bounds: range p is [b[p], b[p+1]).
func split(n, parts, align int) []int {
	blocks := (n + align - 1) / align
	parts = max(1, min(parts, blocks))
	b := make([]int, parts+1)
	for p := 1; p < parts; p++ {
		b[p] = p * blocks / parts * align
	}
	b[parts] = n
	return b
}
