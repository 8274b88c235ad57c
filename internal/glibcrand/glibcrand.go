// Package glibcrand reproduces glibc's random(3) and rand(3) streams
// (random_r.c, the default TYPE_3 generator: an additive feedback generator
// x[i] = x[i-3] + x[i-31] over a state seeded by a Lehmer LCG), so that the
// Go aio-stress and fsx draw the same numbers as the C tools linked with
// glibc. rand() is random(); an unseeded program behaves as srandom(1).
package glibcrand

const (
	deg = 31 // TYPE_3 degree
	sep = 3  // TYPE_3 separation
)

// Rand is one random(3) state. The zero value is not usable; call New.
type Rand struct {
	state [deg]int32
	f, r  int // front and rear indexes (glibc's fptr, rptr)
}

// New returns the state srandom(seed) makes.
func New(seed uint32) *Rand {
	g := new(Rand)
	g.Seed(seed)
	return g
}

// Seed is srandom(seed): seed 0 is taken as 1, as glibc does.
func (g *Rand) Seed(seed uint32) {
	if seed == 0 {
		seed = 1
	}
	g.state[0] = int32(seed)
	word := int64(int32(seed))
	for i := 1; i < deg; i++ {
		// 16807 * word % 2147483647 without overflow (Schrage's method),
		// with glibc's signed arithmetic.
		hi := word / 127773
		lo := word % 127773
		word = 16807*lo - 2836*hi
		if word < 0 {
			word += 2147483647
		}
		g.state[i] = int32(word)
	}
	g.f, g.r = sep, 0
	for i := 0; i < 10*deg; i++ {
		g.Random()
	}
}

// Random is random(): a number in [0, 2^31).
func (g *Rand) Random() int32 {
	g.state[g.f] = int32(uint32(g.state[g.f]) + uint32(g.state[g.r]))
	res := int32(uint32(g.state[g.f]) >> 1)
	g.f++
	if g.f >= deg {
		g.f = 0
	}
	g.r++
	if g.r >= deg {
		g.r = 0
	}
	return res
}

// RandMax is RAND_MAX.
const RandMax = 2147483647
