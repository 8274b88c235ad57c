//go:build linux

package kaio_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kaio-go/kaio"
)

// waitInFlight waits until c has at least n requests in flight.
func waitInFlight(t *testing.T, c *kaio.Context, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for c.Stats().InFlight < n {
		if time.Now().After(deadline) {
			t.Fatalf("never %d requests in flight: %+v", n, c.Stats())
		}
		time.Sleep(time.Millisecond)
	}
}

// stamp fills b with a pattern that says which goroutine wrote it, in which
// round, at which offset: a misdirected or torn write shows in the check.
func stamp(b []byte, g, round int, off int64) {
	for i := 0; i+16 <= len(b); i += 16 {
		binary.LittleEndian.PutUint32(b[i:], uint32(g))
		binary.LittleEndian.PutUint32(b[i+4:], uint32(round))
		binary.LittleEndian.PutUint64(b[i+8:], uint64(off)+uint64(i))
	}
}

// TestFileManyGoroutines: 256 goroutines write their own blocks with
// WriteAt, all at once, and read them back with ReadAt, checking every
// byte, on every engine, buffered (through the page cache, and through
// the ring once it is dropped) and O_DIRECT.
func TestFileManyGoroutines(t *testing.T) {
	const goroutines = 256
	rounds := 8
	if testing.Short() {
		rounds = 2
	}
	for _, direct := range []bool{false, true} {
		t.Run(fmt.Sprintf("direct=%v", direct), func(t *testing.T) {
			onEachEngine(t, 128, func(t *testing.T, c *kaio.Context) {
				f, p := openTemp(t, c, "many", direct)
				manyGoroutines(t, f, p, goroutines, rounds)
				// The calls went to the kernel in batches: with 256
				// goroutines at once, some Submit carried several.
				submits, submitted, most := kaio.FileBatches(c)
				t.Logf("%d requests in %d submissions, at most %d in one", submitted, submits, most)
				if direct && most < 2 {
					t.Errorf("no submission carried more than one request (%d in %d)", submitted, submits)
				}
				if s := c.Stats(); s.InFlight != 0 {
					t.Fatalf("in flight after all calls returned: %+v", s)
				}
			})
		})
	}
}

func manyGoroutines(t *testing.T, f *kaio.File, p string, goroutines, rounds int) {
	const blk = 8192 // two pages: each goroutine's block
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for round := 0; round < rounds; round++ {
		for g := 0; g < goroutines; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				off := int64(g) * blk
				out, in := kaio.AlignedBuffer(blk), kaio.AlignedBuffer(blk)
				stamp(out, g, round, off)
				if n, err := f.WriteAt(out, off); n != blk || err != nil {
					errs <- fmt.Errorf("goroutine %d round %d: WriteAt: %d, %v", g, round, n, err)
					return
				}
				if n, err := f.ReadAt(in, off); n != blk || err != nil || !bytes.Equal(in, out) {
					errs <- fmt.Errorf("goroutine %d round %d: ReadAt: %d, %v, same data %v", g, round, n, err, bytes.Equal(in, out))
				}
			}(g)
		}
		wg.Wait()
		select {
		case err := <-errs:
			t.Fatal(err)
		default:
		}
		// Every block as its goroutine left it, seen by another reader
		// (os), then again through the ring with the page cache dropped.
		all, err := os.ReadFile(p)
		if err != nil || len(all) != goroutines*blk {
			t.Fatalf("round %d: file of %d bytes (%v)", round, len(all), err)
		}
		want := make([]byte, blk)
		for g := 0; g < goroutines; g++ {
			stamp(want, g, round, int64(g)*blk)
			if !bytes.Equal(all[g*blk:(g+1)*blk], want) {
				t.Fatalf("round %d: block %d holds another goroutine's data", round, g)
			}
		}
		uncache(t, p)
	}
}

// TestFileMoreCallsThanSlots: 256 goroutines on a ring of 4 slots all get
// their turn; none sees EAGAIN.
func TestFileMoreCallsThanSlots(t *testing.T) {
	onEachEngine(t, 4, func(t *testing.T, c *kaio.Context) {
		f, p := openTemp(t, c, "slots", true)
		rounds := 4
		if testing.Short() {
			rounds = 1
		}
		manyGoroutines(t, f, p, 256, rounds)
		if s := c.Stats(); s.InFlight != 0 || s.Submitted == 0 {
			t.Fatalf("stats after: %+v", s)
		}
	})
}

// TestFileRingFullOfOthers: when the Context's ring is full of requests
// that are not the Files' (Submit says EAGAIN and nothing of the Files is
// in flight), a File call waits until there is room; EAGAIN never reaches
// it. (Written when Submit's errors became *SubmitError and the ring took
// that EAGAIN for a refusal of the call: WriteAt returned EAGAIN at once.)
func TestFileRingFullOfOthers(t *testing.T) {
	for _, e := range []kaio.Engine{kaio.EngineRetry, kaio.EngineURing} { // native's pipe reads block in io_submit
		t.Run(e.String(), func(t *testing.T) {
			usable(t, e)
			c, err := kaio.Setup(2, kaio.WithEngine(e))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Destroy()
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			defer w.Close()
			bufs := [2][]byte{make([]byte, 1), make([]byte, 1)}
			others := []*kaio.Iocb{
				{Op: kaio.OpPRead, Fd: int(r.Fd()), Buf: bufs[0], Data: 1},
				{Op: kaio.OpPRead, Fd: int(r.Fd()), Buf: bufs[1], Data: 2},
			}
			if n, err := c.Submit(others...); n != 2 {
				t.Fatalf("Submit of the pipe reads: %d, %v", n, err)
			}
			f, _ := openTemp(t, c, "full", true)
			done := make(chan error, 1)
			go func() {
				n, err := f.WriteAt(kaio.AlignedBuffer(4096), 0)
				if err == nil && n != 4096 {
					err = fmt.Errorf("wrote %d bytes", n)
				}
				done <- err
			}()
			select {
			case err := <-done:
				t.Fatalf("WriteAt returned while the ring was full: %v", err)
			case <-time.After(20 * time.Millisecond):
			}
			// Make room: the pipe reads complete, and are reaped here
			// (the Files reap only when theirs are in flight).
			if _, err := w.Write([]byte("ab")); err != nil {
				t.Fatal(err)
			}
			evs := make([]kaio.Event, 2)
			for got := 0; got < 2; {
				n, err := c.GetEvents(1, evs, 5*time.Second)
				if err != nil || n == 0 {
					t.Fatalf("GetEvents: %d, %v", n, err)
				}
				got += n
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("WriteAt once the ring had room: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("WriteAt never ran once the ring had room")
			}
		})
	}
}

// TestFileCloseRacing: Close while goroutines read, write, seek and sync.
// Every call either succeeds or says os.ErrClosed; Close returns only
// when nothing of the file is in flight; later calls say os.ErrClosed.
func TestFileCloseRacing(t *testing.T) {
	iters := 20
	if testing.Short() {
		iters = 5
	}
	for _, direct := range []bool{false, true} {
		t.Run(fmt.Sprintf("direct=%v", direct), func(t *testing.T) {
			onEachEngine(t, 16, func(t *testing.T, c *kaio.Context) {
				dir, flag := dirFlag(t, direct)
				p := filepath.Join(dir, "race")
				if err := os.WriteFile(p, patterned(1<<20, 1), 0o600); err != nil {
					t.Fatal(err)
				}
				for it := 0; it < iters; it++ {
					closeRace(t, c, p, flag)
				}
			})
		})
	}
}

func closeRace(t *testing.T, c *kaio.Context, p string, flag int) {
	f, err := kaio.OpenFile(p, flag, 0, kaio.OnContext(c))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	start := make(chan struct{})
	for g := 0; g < 32; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			buf := kaio.AlignedBuffer(4096)
			<-start
			for i := 0; ; i++ {
				off := int64((g*31+i)%256) * 4096
				var err error
				switch (g + i) % 6 {
				case 0, 1:
					_, err = f.ReadAt(buf, off)
				case 2:
					_, err = f.WriteAt(buf, off)
				case 3:
					_, err = f.ReadAtContext(context.Background(), buf, off)
				case 4:
					err = f.Datasync()
				case 5:
					_, err = f.Stat()
				}
				if err != nil {
					if !errors.Is(err, os.ErrClosed) {
						errs <- fmt.Errorf("goroutine %d call %d: %v", g, i, err)
					}
					return
				}
			}
		}(g)
	}
	close(start)
	time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if s := c.Stats(); s.InFlight != 0 {
		t.Fatalf("Close returned with requests in flight: %+v", s)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestFileReadAtContext: a context that ended before the call, one that
// ends while the request waits for a ring slot, and one that ends while
// requests are in flight.
func TestFileReadAtContext(t *testing.T) {
	onEachEngine(t, 1, func(t *testing.T, c *kaio.Context) {
		// O_DIRECT, so that every read and write goes through the ring
		// (an uncached buffered read may not: see
		// TestFileInlineCachedReads).
		data := patterned(1<<20, 8)
		p := writeTemp(t, directDir(t), data)
		f, err := kaio.OpenFile(p, os.O_RDWR|syscall.O_DIRECT, 0, kaio.OnContext(c))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		buf := kaio.AlignedBuffer(4096)

		// Ended before: nothing is submitted, nothing read or written.
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		before := c.Stats().Submitted
		if n, err := f.ReadAtContext(ctx, buf, 0); n != 0 || err != context.Canceled {
			t.Fatalf("ReadAtContext with a cancelled context: %d, %v", n, err)
		}
		if n, err := f.WriteAtContext(ctx, []byte("x"), 0); n != 0 || err != context.Canceled {
			t.Fatalf("WriteAtContext with a cancelled context: %d, %v", n, err)
		}
		if s := c.Stats().Submitted; s != before {
			t.Fatalf("%d requests submitted for a cancelled context", s-before)
		}

		// The only slot is taken by a Read of a pipe that waits for
		// data: the ReadAt waits for a slot, and its deadline ends it.
		pr, done := blockedRead(t, c)
		ctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
		n, err := f.ReadAtContext(ctx, buf, 0)
		cancel()
		if n != 0 || err != context.DeadlineExceeded {
			t.Fatalf("ReadAtContext waiting for a slot: %d, %v", n, err)
		}
		ctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
		n, err = f.WriteAtContext(ctx, kaio.AlignedBuffer(4096), 0)
		cancel()
		if n != 0 || err != context.DeadlineExceeded {
			t.Fatalf("WriteAtContext waiting for a slot: %d, %v", n, err)
		}
		if got, _ := os.ReadFile(p); !bytes.Equal(got, data) {
			t.Fatal("a cancelled WriteAtContext wrote")
		}
		pr.Close()
		<-done
	})

	// Cancellation while reads are in flight: each call returns all
	// its data or ctx.Err(), and nothing stays in flight.
	onEachEngine(t, 32, func(t *testing.T, c *kaio.Context) {
		data := patterned(4<<20, 9)
		dir := directDir(t)
		p := writeTemp(t, dir, data)
		f, err := kaio.OpenFile(p, os.O_RDONLY|syscall.O_DIRECT, 0, kaio.OnContext(c))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var wg sync.WaitGroup
		var mu sync.Mutex
		results := map[string]int{}
		calls := 64
		if testing.Short() {
			calls = 16
		}
		for g := 0; g < calls; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				buf := kaio.AlignedBuffer(64 << 10)
				off := int64(g%64) * (64 << 10)
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration(g%8)*50*time.Microsecond)
				defer cancel()
				n, err := f.ReadAtContext(ctx, buf, off)
				switch {
				case err == nil:
					if n != len(buf) || !bytes.Equal(buf, data[off:off+int64(n)]) {
						t.Errorf("read %d at %d: wrong data", n, off)
					}
				case err == ctx.Err():
					if !bytes.Equal(buf[:n], data[off:off+int64(n)]) {
						t.Errorf("cancelled read of %d at %d: wrong data", n, off)
					}
				default:
					t.Errorf("ReadAtContext: %d, %v", n, err)
				}
				mu.Lock()
				results[fmt.Sprint(err)]++
				mu.Unlock()
			}(g)
		}
		wg.Wait()
		t.Logf("results: %v", results)
		if s := c.Stats(); s.InFlight != 0 {
			t.Fatalf("in flight after every call returned: %+v", s)
		}
	})
}
