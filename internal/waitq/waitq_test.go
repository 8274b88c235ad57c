package waitq

import "testing"

type recorder struct{ got []uint32 }

func (r *recorder) Wake(q *Queue, e *Entry, mask uint32) {
	r.got = append(r.got, mask)
	q.RemoveLocked(e) // a callback may unlink its own entry
}

func TestWakeMatchesMasks(t *testing.T) {
	var q Queue // the zero value is ready
	in, out, any := &recorder{}, &recorder{}, &recorder{}
	eIn := &Entry{Mask: 0x1, W: in}
	eOut := &Entry{Mask: 0x4, W: out}
	eAny := &Entry{W: any}
	q.Mu.Lock()
	q.AddLocked(eIn)
	q.AddLocked(eOut)
	q.AddLocked(eAny)
	if q.LenLocked() != 3 || q.MaskLocked() != 0x5 || q.FirstLocked() != eIn {
		t.Fatalf("len %d mask %#x", q.LenLocked(), q.MaskLocked())
	}
	q.Mu.Unlock()

	q.Wake(0x1, 0x10) // readable: the reader and the catch-all
	if len(in.got) != 1 || len(out.got) != 0 || len(any.got) != 1 {
		t.Fatalf("wake 0x1: in %v out %v any %v", in.got, out.got, any.got)
	}
	if eIn.Queue() != nil || eOut.Queue() != &q {
		t.Fatal("a woken entry that unlinked itself is still linked, or the other was unlinked")
	}
	q.Wake(0x10, 0x10) // an "always" bit (a hang-up) wakes whoever is left
	if len(out.got) != 1 || out.got[0] != 0x10 {
		t.Fatalf("hang-up did not reach the writer: %v", out.got)
	}
	q.Mu.Lock()
	if q.LenLocked() != 0 {
		t.Fatalf("%d entries left", q.LenLocked())
	}
	q.Mu.Unlock()
}

func TestDoubleLinkPanics(t *testing.T) {
	var q Queue
	e := &Entry{W: &recorder{}}
	q.Mu.Lock()
	defer q.Mu.Unlock()
	q.AddLocked(e)
	defer func() {
		if recover() == nil {
			t.Fatal("linking an entry twice did not panic")
		}
	}()
	q.AddLocked(e)
}
