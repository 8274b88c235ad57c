//go:build linux

package conformance

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/kaio-go/kaio"
	"github.com/kaio-go/kaio/internal/cmdtest"
	"golang.org/x/sys/unix"
)

// filesCases: RegisterFiles and UnregisterFiles answer alike on every
// engine; an iocb with FlagFixedFile works on the file registered at its
// index, keeps it while in flight, and holds no fd after its event.
var filesCases = []Case{
	{"RegisterFiles/Errors", func(t *testing.T, e *Env) {
		f := tempFile(t, pattern(4096, 1), 0)
		outside := cmdtest.OpenFds(t)
		c := e.Setup(4)
		before := cmdtest.OpenFds(t)
		const closed = 1 << 20 // above any number dup hands out here
		if _, err := unix.FcntlInt(closed, unix.F_GETFD, 0); err == nil {
			t.Skipf("fd %d is open", closed)
		}
		wantErrno(t, "no fds", c.RegisterFiles(), unix.EINVAL)
		wantErrno(t, "a closed fd", c.RegisterFiles(fd(f), closed), unix.EBADF)
		wantErrno(t, "fd -2", c.RegisterFiles(-2), unix.EBADF)
		if got := cmdtest.OpenFds(t); got != before {
			t.Fatalf("%d fds open after refused registrations, %d before", got, before)
		}
		wantErrno(t, "unregister with nothing registered", c.UnregisterFiles(), unix.ENXIO)

		buf := make([]byte, 512)
		i := &kaio.Iocb{Op: kaio.OpPRead, Fd: 0, Buf: buf, Flags: kaio.FlagFixedFile}
		n, err := c.Submit(i)
		if n != 0 || !errors.Is(err, unix.EBADF) {
			t.Fatalf("a fixed read with no files registered: %d, %v; want 0, EBADF", n, err)
		}
		refused(t, err, 0, i, "FlagFixedFile: no registered file at index 0 (0 slots registered) (EBADF)")
		if ev := c.Do(i); ev.Res != -int64(unix.EBADF) {
			t.Fatalf("Do of a fixed read with no files registered: res %d, want -EBADF", ev.Res)
		}

		ro := openNumber(t, f.Name(), unix.O_RDONLY)
		defer unix.Close(ro)
		if err := c.RegisterFiles(fd(f), -1, ro); err != nil {
			t.Fatalf("RegisterFiles: %v", err)
		}
		wantErrno(t, "a second registration", c.RegisterFiles(fd(f)), unix.EBUSY)
		for _, idx := range []int{1, 3, -1} {
			i := &kaio.Iocb{Op: kaio.OpPRead, Fd: idx, Buf: buf, Flags: kaio.FlagFixedFile}
			n, err := c.Submit(i)
			if n != 0 {
				t.Fatalf("a fixed read of index %d was taken", idx)
			}
			refused(t, err, 0, i, fmt.Sprintf("FlagFixedFile: no registered file at index %d (3 slots registered) (EBADF)", idx))
		}
		w := &kaio.Iocb{Op: kaio.OpPWrite, Fd: 2, Buf: buf, Flags: kaio.FlagFixedFile}
		_, err = c.Submit(w)
		refused(t, err, 0, w, "registered file 2 not open for writing (EBADF)")
		if err := c.UnregisterFiles(); err != nil {
			t.Fatalf("UnregisterFiles: %v", err)
		}
		wantErrno(t, "unregister twice", c.UnregisterFiles(), unix.ENXIO)
		if got := cmdtest.OpenFds(t); got != before+1 { // ro
			t.Fatalf("%d fds open after UnregisterFiles, want %d", got, before+1)
		}
		if err := c.RegisterFiles(fd(f)); err != nil {
			t.Fatalf("RegisterFiles after UnregisterFiles: %v", err)
		}
		if err := c.Destroy(); err != nil {
			t.Fatal(err)
		}
		if got := cmdtest.OpenFds(t); got != outside+1 {
			t.Fatalf("%d fds open after Destroy with files registered, want %d", got, outside+1)
		}
		wantErrno(t, "register on a destroyed context", c.RegisterFiles(fd(f)), unix.EINVAL)
		wantErrno(t, "unregister on a destroyed context", c.UnregisterFiles(), unix.EINVAL)
	}},
	{"RegisterFiles/IO", func(t *testing.T, e *Env) {
		const rec, n = 4096, 8
		dataA, dataB := pattern(n*rec, 3), pattern(n*rec, 4)
		nameA, nameB := writeTemp(t, "a", dataA), writeTemp(t, "b", dataB)
		before := cmdtest.OpenFds(t)
		fa, fb := openNumber(t, nameA, unix.O_RDWR), openNumber(t, nameB, unix.O_RDWR)
		c := e.Setup(4 * n)
		if err := c.RegisterFiles(fb, -1, fa); err != nil {
			t.Fatalf("RegisterFiles: %v", err)
		}
		// The caller's fds go: the context's references stay.
		unix.Close(fa)
		unix.Close(fb)
		bufs := make([]byte, 2*n*rec)
		iocbs := make([]*kaio.Iocb, 2*n)
		for j := range iocbs {
			idx := 2 * (j % 2) // A at 2, B at 0
			iocbs[j] = &kaio.Iocb{Op: kaio.OpPRead, Fd: idx, Flags: kaio.FlagFixedFile, Buf: bufs[j*rec : (j+1)*rec], Offset: int64(j / 2 * rec), Data: uint64(j)}
		}
		submit(t, c, iocbs...)
		for _, ev := range reap(t, c, 2*n) {
			if ev.Res != rec {
				t.Fatalf("read %d: %+v", ev.Data, ev)
			}
		}
		for j := range iocbs {
			src := dataB
			if j%2 == 1 {
				src = dataA
			}
			sameBytes(t, fmt.Sprintf("fixed read %d", j), bufs[j*rec:(j+1)*rec], src[j/2*rec:(j/2+1)*rec])
		}
		// Do, and a vectored write and fsync, on a registered file.
		one := make([]byte, rec)
		if ev := c.Do(&kaio.Iocb{Op: kaio.OpPRead, Fd: 2, Flags: kaio.FlagFixedFile, Buf: one, Offset: rec}); ev.Res != rec {
			t.Fatalf("Do of a fixed read: %+v", ev)
		}
		sameBytes(t, "Do's fixed read", one, dataA[rec:2*rec])
		newA := pattern(2*rec, 9)
		wv := &kaio.Iocb{Op: kaio.OpPWritev, Fd: 2, Flags: kaio.FlagFixedFile, Iov: [][]byte{newA[:rec], newA[rec:]}, Offset: 0, Data: 1}
		fs := &kaio.Iocb{Op: kaio.OpFSync, Fd: 0, Flags: kaio.FlagFixedFile, Data: 2}
		submit(t, c, wv, fs)
		for _, ev := range reap(t, c, 2) {
			if ev.Res < 0 || ev.Data == 1 && ev.Res != 2*rec {
				t.Fatalf("fixed %d: %+v", ev.Data, ev)
			}
		}
		got, err := os.ReadFile(nameA)
		if err != nil {
			t.Fatal(err)
		}
		sameBytes(t, "file A after a fixed pwritev", got[:2*rec], newA)

		// Writes in flight keep their file when the registration goes and
		// its numbers are taken by other files at once.
		big := pattern(n<<20, 5)
		for j := 0; j < n; j++ {
			iocbs[j] = &kaio.Iocb{Op: kaio.OpPWrite, Fd: 0, Flags: kaio.FlagFixedFile, Buf: big[j<<20 : (j+1)<<20], Offset: int64(j << 20), Data: uint64(j)}
		}
		submit(t, c, iocbs[:n]...)
		if err := c.UnregisterFiles(); err != nil {
			t.Fatalf("UnregisterFiles with writes in flight: %v", err)
		}
		nameC := writeTemp(t, "c", nil)
		for range 4 {
			defer unix.Close(openNumber(t, nameC, unix.O_RDWR))
		}
		for _, ev := range reap(t, c, n) {
			if ev.Res != 1<<20 {
				t.Fatalf("write %d: %+v", ev.Data, ev)
			}
		}
		if st, _ := os.Stat(nameC); st.Size() != 0 {
			t.Fatalf("%d bytes landed in a file that took a registered file's number", st.Size())
		}
		if got, _ = os.ReadFile(nameB); len(got) != len(big) {
			t.Fatalf("file B holds %d bytes, want %d", len(got), len(big))
		}
		sameBytes(t, "file B", got, big)
		if err := c.Destroy(); err != nil {
			t.Fatal(err)
		}
		if got := cmdtest.OpenFds(t); got != before+4 { // the four opens of C
			t.Fatalf("%d fds open after the writes' events and Destroy, want %d", got, before+4)
		}
	}},
	{"RegisterFiles/Update", func(t *testing.T, e *Env) {
		nameA, nameB := writeTemp(t, "a", []byte("file A")), writeTemp(t, "b", []byte("file B"))
		before := cmdtest.OpenFds(t)
		fa, fb := openNumber(t, nameA, unix.O_RDONLY), openNumber(t, nameB, unix.O_RDONLY)
		c := e.Setup(4)
		wantErrno(t, "an update with nothing registered", c.UpdateFiles(0, fa), unix.ENXIO)
		if err := c.RegisterFiles(fa, -1); err != nil {
			t.Fatalf("RegisterFiles: %v", err)
		}
		read := func(idx int) string {
			t.Helper()
			buf := make([]byte, 6)
			ev := c.Do(&kaio.Iocb{Op: kaio.OpPRead, Fd: idx, Flags: kaio.FlagFixedFile, Buf: buf})
			if ev.Res < 0 {
				return unix.ErrnoName(unix.Errno(-ev.Res))
			}
			return string(buf[:ev.Res])
		}
		if err := c.UpdateFiles(1, fb); err != nil {
			t.Fatalf("UpdateFiles(1, B): %v", err)
		}
		unix.Close(fb)
		if a, b := read(0), read(1); a != "file A" || b != "file B" {
			t.Fatalf("after UpdateFiles(1, B): %q, %q", a, b)
		}
		wantErrno(t, "an update past the end", c.UpdateFiles(1, fa, fa), unix.EINVAL)
		wantErrno(t, "an update at -1", c.UpdateFiles(-1, fa), unix.EINVAL)
		wantErrno(t, "an update with no fds", c.UpdateFiles(0), unix.EINVAL)
		wantErrno(t, "an update with a bad fd", c.UpdateFiles(0, -2), unix.EBADF)
		if a, b := read(0), read(1); a != "file A" || b != "file B" {
			t.Fatalf("after refused updates: %q, %q; want them unchanged", a, b)
		}
		if err := c.UpdateFiles(0, -1); err != nil {
			t.Fatalf("UpdateFiles(0, -1): %v", err)
		}
		if a, b := read(0), read(1); a != "EBADF" || b != "file B" {
			t.Fatalf("after emptying slot 0: %q, %q", a, b)
		}
		unix.Close(fa)
		if err := c.UnregisterFiles(); err != nil {
			t.Fatal(err)
		}
		if err := c.Destroy(); err != nil {
			t.Fatal(err)
		}
		wantErrno(t, "an update on a destroyed context", c.UpdateFiles(0, 0), unix.EINVAL)
		if got := cmdtest.OpenFds(t); got != before {
			t.Fatalf("%d fds open at the end, %d before", got, before)
		}
	}},
	{"RegisterFiles/StreamInFlight", func(t *testing.T, e *Env) {
		// A read and a poll of registered pipes wait across
		// UnregisterFiles, and end when the pipes are written.
		r, w := pipe(t)
		r2, w2 := pipe(t)
		before := cmdtest.OpenFds(t)
		c := e.Setup(4)
		if err := c.RegisterFiles(r, r2); err != nil {
			t.Fatalf("RegisterFiles: %v", err)
		}
		buf := make([]byte, 16)
		submit(t, c, &kaio.Iocb{Op: kaio.OpPRead, Fd: 0, Flags: kaio.FlagFixedFile, Buf: buf, Data: 7},
			&kaio.Iocb{Op: kaio.OpPoll, Fd: 1, Flags: kaio.FlagFixedFile, Events: unix.POLLIN, Data: 8})
		if err := c.UnregisterFiles(); err != nil {
			t.Fatalf("UnregisterFiles with a read and a poll in flight: %v", err)
		}
		noEvent(t, c, 20e6)
		if _, err := unix.Write(w, []byte("registered")); err != nil {
			t.Fatal(err)
		}
		if _, err := unix.Write(w2, []byte("x")); err != nil {
			t.Fatal(err)
		}
		for _, ev := range reap(t, c, 2) {
			switch {
			case ev.Data == 7 && (ev.Res != 10 || string(buf[:10]) != "registered"):
				t.Fatalf("the pipe read: %+v, %q", ev, buf[:max(ev.Res, 0)])
			case ev.Data == 8 && ev.Res&unix.POLLIN == 0:
				t.Fatalf("the poll: %+v", ev)
			}
		}
		if err := c.Destroy(); err != nil {
			t.Fatal(err)
		}
		if got := cmdtest.OpenFds(t); got != before {
			t.Fatalf("%d fds open after the events and Destroy, %d before", got, before)
		}
	}},
	{"RegisterFiles/DestroyUnderLoad", func(t *testing.T, e *Env) {
		// Stress/DestroyUnderLoad's rounds on registered files: every
		// accepted iocb ends once, and Destroy leaves no duplicate open.
		destroyUnderLoadRounds(t, e, 150, true)
	}},
	{"RegisterFiles/UpdateUnderWrites", func(t *testing.T, e *Env) {
		// Writes in flight on slot 0 keep file A when an update puts B
		// there; the next write on slot 0 goes to B.
		const n, size = 8, 1 << 20
		nameA, nameB := writeTemp(t, "a", nil), writeTemp(t, "b", nil)
		fa, fb := openNumber(t, nameA, unix.O_RDWR), openNumber(t, nameB, unix.O_RDWR)
		defer unix.Close(fa)
		defer unix.Close(fb)
		c := e.Setup(2 * n)
		if err := c.RegisterFiles(fa); err != nil {
			t.Fatalf("RegisterFiles: %v", err)
		}
		data := pattern(n*size, 8)
		iocbs := make([]*kaio.Iocb, n)
		for j := range iocbs {
			iocbs[j] = &kaio.Iocb{Op: kaio.OpPWrite, Fd: 0, Flags: kaio.FlagFixedFile, Buf: data[j*size : (j+1)*size], Offset: int64(j * size), Data: uint64(j)}
		}
		submit(t, c, iocbs...)
		if err := c.UpdateFiles(0, fb); err != nil {
			t.Fatalf("UpdateFiles with writes in flight: %v", err)
		}
		for _, ev := range reap(t, c, n) {
			if ev.Res != size {
				t.Fatalf("write %d: %+v", ev.Data, ev)
			}
		}
		got, err := os.ReadFile(nameA)
		if err != nil {
			t.Fatal(err)
		}
		sameBytes(t, "file A", got, data)
		if st, _ := os.Stat(nameB); st.Size() != 0 {
			t.Fatalf("%d bytes of the writes in flight landed in the file the update put in their slot", st.Size())
		}
		if ev := c.Do(&kaio.Iocb{Op: kaio.OpPWrite, Fd: 0, Flags: kaio.FlagFixedFile, Buf: []byte("B")}); ev.Res != 1 {
			t.Fatalf("a write on slot 0 after the update: %+v", ev)
		}
		if got, _ := os.ReadFile(nameB); string(got) != "B" {
			t.Fatalf("file B holds %q after the write on slot 0", got)
		}
	}},
	{"RegisterFiles/DiskFull", func(t *testing.T, e *Env) {
		// 12 MiB of writes on a registered file of an 8 MiB ext4, the
		// caller's fd closed: those that fit are made, the rest end with
		// ENOSPC or short, each once, and no fd outlives Destroy.
		const fsSize, size, n = 8 << 20, 256 << 10, 48
		dir := cmdtest.Ext4(t, fsSize)
		name := filepath.Join(dir, "f")
		before := cmdtest.OpenFds(t)
		c := e.Setup(n)
		fdn := openNumber(t, name, unix.O_RDWR|unix.O_CREAT)
		if err := c.RegisterFiles(fdn); err != nil {
			t.Fatalf("RegisterFiles: %v", err)
		}
		unix.Close(fdn)
		buf := pattern(size, 3)
		iocbs := make([]*kaio.Iocb, n)
		for j := range iocbs {
			iocbs[j] = &kaio.Iocb{Op: kaio.OpPWrite, Fd: 0, Flags: kaio.FlagFixedFile, Buf: buf, Offset: int64(j * size), Data: uint64(j)}
		}
		submit(t, c, iocbs...)
		var ok, full int
		for _, ev := range reap(t, c, n) { // reap fails on an event too many
			switch {
			case ev.Res == size:
				ok++
			case ev.Res == -int64(unix.ENOSPC) || ev.Res >= 0 && ev.Res < size:
				full++
			default:
				t.Fatalf("write %d: %+v", ev.Data, ev)
			}
		}
		if ok == 0 || full == 0 || ok*size > fsSize {
			t.Fatalf("%d writes done, %d short or ENOSPC, on a %d-byte file system", ok, full, fsSize)
		}
		if err := c.Destroy(); err != nil {
			t.Fatal(err)
		}
		if got := cmdtest.OpenFds(t); got != before {
			t.Fatalf("%d fds open after Destroy, %d before", got, before)
		}
	}},
	{"RegisterFiles/Concurrent", func(t *testing.T, e *Env) {
		// Submitters and Do callers race a goroutine that registers,
		// updates and unregisters: each fixed iocb is either refused (EBADF) or reads
		// the registered file's bytes, and no fd is left behind.
		const rec, recs = 4096, 64
		data := pattern(rec*recs, 6)
		f := tempFile(t, data, 0)
		before := cmdtest.OpenFds(t)
		c := e.Setup(64)
		rounds := 300
		if testing.Short() {
			rounds = 60
		}
		// The toggler sets the length of the race: rounds registrations,
		// each left in place for a few yields; the others go on until it
		// is done.
		var wg sync.WaitGroup
		stop := make(chan struct{})
		var regs, unregs int
		var ready sync.WaitGroup
		ready.Add(2)
		wg.Go(func() {
			defer close(stop)
			ready.Wait() // the Do callers are running
			for range rounds {
				if c.RegisterFiles(-1, fd(f)) == nil {
					regs++
				}
				for range 4 {
					runtime.Gosched()
				}
				// Empty the slot and fill it again: an update races the
				// readers as the registration does.
				c.UpdateFiles(1, -1)
				runtime.Gosched()
				c.UpdateFiles(1, fd(f))
				for range 4 {
					runtime.Gosched()
				}
				if c.UnregisterFiles() == nil {
					unregs++
				}
				runtime.Gosched()
			}
		})
		stopped := func() bool {
			select {
			case <-stop:
				return true
			default:
				return false
			}
		}
		check := func(who string, buf []byte, off int64, res int64) {
			t.Helper()
			switch res {
			case rec:
				sameBytes(t, who, buf, data[off:off+rec])
			case -int64(unix.EBADF):
			default:
				t.Errorf("%s: res %d", who, res)
			}
		}
		var accepted, refusedN [3]int
		for g := range 2 {
			wg.Go(func() {
				ready.Done()
				buf := make([]byte, rec)
				for !stopped() {
					off := int64(rand.IntN(recs) * rec)
					ev := c.Do(&kaio.Iocb{Op: kaio.OpPRead, Fd: 1, Flags: kaio.FlagFixedFile, Buf: buf, Offset: off})
					check(fmt.Sprintf("Do %d", g), buf, off, ev.Res)
					if ev.Res == rec {
						accepted[g]++
					} else {
						refusedN[g]++
					}
				}
			})
		}
		bufs := make([]byte, 8*rec)
		offs := make([]int64, 8)
		iocbs := make([]*kaio.Iocb, 8)
		for !stopped() {
			for j := range iocbs {
				offs[j] = int64(rand.IntN(recs) * rec)
				iocbs[j] = &kaio.Iocb{Op: kaio.OpPRead, Fd: 1, Flags: kaio.FlagFixedFile, Buf: bufs[j*rec : (j+1)*rec], Offset: offs[j], Data: uint64(j)}
			}
			n, err := c.Submit(iocbs...)
			if n < len(iocbs) && !errors.Is(err, unix.EBADF) {
				t.Fatalf("Submit: %d, %v", n, err)
			}
			accepted[2] += n
			if n < len(iocbs) {
				refusedN[2]++
			}
			for _, ev := range reap(t, c, n) {
				check("Submit", bufs[ev.Data*rec:(ev.Data+1)*rec], offs[ev.Data], ev.Res)
			}
		}
		wg.Wait()
		t.Logf("%d registrations, %d unregistrations; accepted %v, refused %v", regs, unregs, accepted, refusedN)
		if err := c.Destroy(); err != nil {
			t.Fatal(err)
		}
		if got := cmdtest.OpenFds(t); got != before {
			t.Fatalf("%d fds open at the end, %d before", got, before)
		}
	}},
}
