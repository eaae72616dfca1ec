package metric

// RandomState is the part of NumPy's legacy numpy.random.RandomState that scikit-learn's splitters
// use, reproduced draw for draw: a 32-bit Mersenne Twister (MT19937) seeded the way RandomState(seed)
// seeds it, bounded integers drawn by masked rejection, and Fisher-Yates permutations. With the same
// seed it yields the same permutations as NumPy, which is what makes the cross-validation splits here
// identical to scikit-learn's.
//
// The zero value is not usable; create one with NewRandomState. A RandomState is not safe for
// concurrent use.
type RandomState struct {
	mt  [mtN]uint32
	pos int
}

// MT19937 parameters (Matsumoto and Nishimura, 1998).
const (
	mtN         = 624
	mtM         = 397
	mtMatrixA   = 0x9908b0df
	mtUpperMask = 0x80000000
	mtLowerMask = 0x7fffffff
)

// NewRandomState returns the generator NumPy's RandomState(seed) creates for an integer seed: the
// Mersenne Twister state is filled by the linear recurrence
// mt[0] = seed, mt[i] = 1812433253 * (mt[i-1] XOR (mt[i-1] >> 30)) + i (mod 2^32),
// and the first draw regenerates the whole block.
func NewRandomState(seed uint32) *RandomState {
	r := &RandomState{}
	r.mt[0] = seed
	for i := 1; i < mtN; i++ {
		prev := r.mt[i-1]
		r.mt[i] = 1812433253*(prev^(prev>>30)) + uint32(i)
	}
	r.pos = mtN
	return r
}

// regenerate computes the next block of 624 state words (the "twist").
func (r *RandomState) regenerate() {
	for i := 0; i < mtN; i++ {
		y := r.mt[i]&mtUpperMask | r.mt[(i+1)%mtN]&mtLowerMask
		v := r.mt[(i+mtM)%mtN] ^ y>>1
		if y&1 != 0 {
			v ^= mtMatrixA
		}
		r.mt[i] = v
	}
	r.pos = 0
}

// Uint32 returns the next 32-bit output of the generator (the tempered state word).
func (r *RandomState) Uint32() uint32 {
	if r.pos >= mtN {
		r.regenerate()
	}
	y := r.mt[r.pos]
	r.pos++
	y ^= y >> 11
	y ^= y << 7 & 0x9d2c5680
	y ^= y << 15 & 0xefc60000
	y ^= y >> 18
	return y
}

// Uint64 returns a 64-bit value made of two 32-bit draws, the first in the high half, as NumPy's
// MT19937 does.
func (r *RandomState) Uint64() uint64 {
	hi := uint64(r.Uint32())
	return hi<<32 | uint64(r.Uint32())
}

// Interval returns a uniform integer in [0, hi], drawn as NumPy's random_interval does: take the
// smallest all-ones bit mask covering hi, and draw (32-bit draws while hi fits in 32 bits, else
// 64-bit) masked values until one is at most hi.
func (r *RandomState) Interval(hi uint64) uint64 {
	if hi == 0 {
		return 0
	}
	mask := hi
	for s := uint(1); s < 64; s <<= 1 {
		mask |= mask >> s
	}
	if hi <= 0xffffffff {
		for {
			if v := uint64(r.Uint32()) & mask; v <= hi {
				return v
			}
		}
	}
	for {
		if v := r.Uint64() & mask; v <= hi {
			return v
		}
	}
}

// Intn returns a uniform integer in [0, n) the way RandomState.randint(0, n) draws one (a masked
// rejection draw on [0, n-1]). It panics if n <= 0.
func (r *RandomState) Intn(n int) int {
	if n <= 0 {
		panic("metric: RandomState.Intn with n <= 0")
	}
	return int(r.Interval(uint64(n - 1)))
}

// Shuffle permutes x in place as RandomState.shuffle does for a one-dimensional array: for i from
// len(x)-1 down to 1, swap x[i] with x[j] for j drawn uniformly from [0, i].
func (r *RandomState) Shuffle(x []int) {
	for i := len(x) - 1; i > 0; i-- {
		j := int(r.Interval(uint64(i)))
		x[i], x[j] = x[j], x[i]
	}
}

// Perm returns RandomState.permutation(n): the integers 0..n-1 shuffled by Shuffle.
func (r *RandomState) Perm(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	r.Shuffle(p)
	return p
}

// Permute returns a shuffled copy of x, as RandomState.permutation(x) does for a one-dimensional array.
func (r *RandomState) Permute(x []int) []int {
	p := append([]int(nil), x...)
	r.Shuffle(p)
	return p
}

// ChooseWithoutReplacement returns RandomState.choice(a, size=k, replace=False) for a population
// without weights: the first k entries of a permutation of a (NumPy permutes all of a even when k is
// smaller, and so does this, so that later draws stay in step).
func (r *RandomState) ChooseWithoutReplacement(a []int, k int) []int {
	perm := r.Perm(len(a))
	out := make([]int, k)
	for i := range out {
		out[i] = a[perm[i]]
	}
	return out
}
