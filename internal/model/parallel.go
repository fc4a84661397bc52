package model

import (
	"runtime"
	"sync"
)

// chunks is how many pieces row loops are cut into. It is fixed, not the
// core count, so floating-point sums are added in the same order on every
// machine and a model is bit-for-bit reproducible.
const chunks = 8

// parallel calls fn(c, lo, hi) for the chunks of [0, n), on up to GOMAXPROCS
// goroutines, and waits. cost is the rough work per item; small jobs run
// serially because goroutines would cost more than they save.
func parallel(n, cost int, fn func(c, lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), chunks)
	if n*cost < 1<<15 || workers == 1 {
		for c := range chunks {
			fn(c, c*n/chunks, (c+1)*n/chunks)
		}
		return
	}
	var wg sync.WaitGroup
	next := make(chan int, chunks)
	for c := range chunks {
		next <- c
	}
	close(next)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range next {
				fn(c, c*n/chunks, (c+1)*n/chunks)
			}
		}()
	}
	wg.Wait()
}
