//go:build linux

package stress

import (
	"sync"
	"time"

	"github.com/kaio-go/kaio/internal/glibcrand"
)

// oper is a series of I/Os to one file over one context's range: the
// classic's struct io_oper. Opers live on a thread's circular lists, whose
// order decides which oper gets which rand() value.
type oper struct {
	idx        int // in the order of opening: file by file, context by context
	fd         int
	fixed      int // fd's index in its thread's registered files, or -1
	file       string
	start, end int64 // the context's range [start, end)
	reclen     int64
	rw         int // the stage it is in
	totalIOs   int // (end-start)/reclen per stage
	startedIOs int // submitted in this stage
	numPending int
	lastOffset int64
	startTime  time.Time // first build of the stage

	stonewalled bool // cut off before submitting all its ios
	printed     bool // its "<stage> on <file>" line is out for this stage

	lastErr    int64 // last failed result (a negative errno or a short count)
	numErr     int   // failed ios over the run
	stageErrs  int   // failed ios in this stage
	stageBytes int64 // bytes its ios transferred in this stage
	verifyErrs int   // records that failed -v over the run

	next, prev *oper
}

// listAdd appends o at the tail of the circular list *l (oper_list_add).
func listAdd(o *oper, l **oper) {
	if *l == nil {
		*l = o
		o.prev, o.next = o, o
		return
	}
	o.prev = (*l).prev
	o.next = *l
	(*l).prev.next = o
	(*l).prev = o
}

// listDel removes o from the circular list *l (oper_list_del).
func listDel(o *oper, l **oper) {
	if o.next == o {
		*l = nil
	} else {
		o.prev.next = o.next
		o.next.prev = o.prev
		if *l == o {
			*l = o.next
		}
	}
	o.next, o.prev = nil, nil
}

// lockedRand is the process-wide rand() of the classic: glibc's rand()
// takes a lock too, so with several threads the draws interleave as the
// threads run, and only a single thread's offsets are reproducible.
type lockedRand struct {
	mu sync.Mutex
	r  *glibcrand.Rand
}

func (l *lockedRand) next() int32 {
	l.mu.Lock()
	v := l.r.Random()
	l.mu.Unlock()
	return v
}

// randomOffset is the classic's random_byte_offset, draw for draw: a random
// MiB of the range after the first, plus a random aligned byte offset in
// it, moved back by a record if it would pass the end. mask is the
// alignment minus one.
//
// Fixed: when the range is under 2 MiB the classic's offset lands past the
// range's end (it writes past the file's end and reads nothing); such an
// offset is folded back into the range, aligned. For ranges of 2 MiB and
// more the offsets are the classic's.
func (o *oper) randomOffset(r *lockedRand, mask int64) int64 {
	const randScale = glibcrand.RandMax + 1.0
	off := o.start
	rng := (o.end - o.start) / mib
	sub := int64(1)
	if mask+1 > mib {
		sub = (mask + 1) / mib
	}
	if rng < sub {
		rng = 0
	} else {
		rng -= sub
	}
	// (int)((double)range * rand() / (RAND_MAX + 1.0)), in the same order
	// of float64 operations so that the result is the same.
	num := 1 + int64(float64(rng)*float64(r.next())/randScale)
	off += num * mib
	b := 1 + int64(float64(mib)*float64(r.next())/randScale)
	b = (b + mask) &^ mask
	off += b
	if off+o.reclen > o.end {
		off -= o.reclen
	}
	if off+o.reclen > o.end {
		span := o.end - o.start - o.reclen + 1 // > 0: validate ensures a record fits
		off = o.start + ((off-o.start)%span)&^mask
	}
	return off
}
