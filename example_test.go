//go:build linux

package kaio_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/kaio-go/kaio"
	"golang.org/x/sys/unix"
)

func Example() {
	f, err := os.CreateTemp("", "kaio-example")
	if err != nil {
		panic(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()

	ctx, err := kaio.Setup(8, kaio.WithEngine(kaio.EngineRetry))
	if err != nil {
		panic(err)
	}
	defer ctx.Destroy()

	msg := []byte("hello, kaio")
	back := make([]byte, len(msg))
	if _, err := ctx.Submit(&kaio.Iocb{Op: kaio.OpPWrite, Fd: int(f.Fd()), Buf: msg, Data: 1}); err != nil {
		panic(err)
	}
	events := make([]kaio.Event, 8)
	n, _ := ctx.GetEvents(1, events, time.Second)
	fmt.Println(n, events[0].Data, events[0].Res)

	ev := ctx.Do(&kaio.Iocb{Op: kaio.OpPRead, Fd: int(f.Fd()), Buf: back})
	fmt.Println(ev.Res, string(back))
	// Output:
	// 1 1 11
	// 11 hello, kaio
}

// A read: submit it, then reap its event. The buffer is the context's
// until then.
func ExampleContext_Submit() {
	f, err := os.CreateTemp("", "kaio-example")
	if err != nil {
		panic(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	f.WriteString("an asynchronous read")

	ctx, err := kaio.Setup(1)
	if err != nil {
		panic(err)
	}
	defer ctx.Destroy()

	buf := make([]byte, 12)
	read := &kaio.Iocb{Op: kaio.OpPRead, Fd: int(f.Fd()), Buf: buf, Offset: 3}
	if _, err := ctx.Submit(read); err != nil {
		panic(err)
	}
	events := make([]kaio.Event, 1)
	if _, err := ctx.GetEvents(1, events, -1); err != nil {
		panic(err)
	}
	ev := events[0]
	if err := ev.Err(); err != nil {
		panic(err)
	}
	fmt.Println(ev.Obj == read, ev.Res, string(buf[:ev.Res]))
	// Output: true 12 asynchronous
}

// A batch: many iocbs in one Submit, their events reaped as they come,
// in any order; Data says which is which.
func ExampleContext_Submit_batch() {
	f, err := os.CreateTemp("", "kaio-example")
	if err != nil {
		panic(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()

	const blocks, size = 8, 4096
	ctx, err := kaio.Setup(blocks)
	if err != nil {
		panic(err)
	}
	defer ctx.Destroy()

	mem := make([]byte, blocks*size)
	iocbs := make([]*kaio.Iocb, blocks)
	for i := range iocbs {
		buf := mem[i*size : (i+1)*size]
		for j := range buf {
			buf[j] = byte('a' + i)
		}
		iocbs[i] = &kaio.Iocb{Op: kaio.OpPWrite, Fd: int(f.Fd()), Buf: buf, Offset: int64(i * size), Data: uint64(i)}
	}
	if n, err := ctx.Submit(iocbs...); err != nil {
		panic(fmt.Sprint(n, err)) // n were accepted; the error says why the next was not
	}
	written := make([]int64, blocks)
	events := make([]kaio.Event, blocks)
	for got := 0; got < blocks; {
		n, err := ctx.GetEvents(1, events, time.Second)
		if err != nil {
			panic(err)
		}
		for _, ev := range events[:n] {
			written[ev.Data] = ev.Res
		}
		got += n
	}
	fmt.Println(written)

	back := make([]byte, 3)
	f.ReadAt(back, 5*size-1)
	fmt.Println(string(back))
	// Output:
	// [4096 4096 4096 4096 4096 4096 4096 4096]
	// eff
}

// Cancel: a read of an empty pipe waits; cancelled, its event still
// comes, with -ECANCELED.
func ExampleContext_Cancel() {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		panic(err)
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])

	ctx, err := kaio.Setup(1)
	if err != nil {
		panic(err)
	}
	defer ctx.Destroy()

	read := &kaio.Iocb{Op: kaio.OpPRead, Fd: p[0], Buf: make([]byte, 64)}
	if _, err := ctx.Submit(read); err != nil {
		panic(err)
	}
	events := make([]kaio.Event, 1)
	n, _ := ctx.GetEvents(1, events, 10*time.Millisecond)
	fmt.Println("events before Cancel:", n)

	if err := ctx.Cancel(read); err != nil {
		panic(err)
	}
	if _, err := ctx.GetEvents(1, events, -1); err != nil {
		panic(err)
	}
	fmt.Println(events[0].Obj == read, errors.Is(events[0].Err(), unix.ECANCELED))
	// Output:
	// events before Cancel: 0
	// true true
}

// Eventfd: with FlagResFd each completion adds one to the eventfd, after
// its event is in the ring, so that a loop that waits on eventfds (or
// epoll) learns when to reap.
func ExampleFlagResFd() {
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
	if err != nil {
		panic(err)
	}
	defer unix.Close(efd)

	ctx, err := kaio.Setup(4)
	if err != nil {
		panic(err)
	}
	defer ctx.Destroy()

	for i := 0; i < 3; i++ {
		if _, err := ctx.Submit(&kaio.Iocb{Op: kaio.OpNoop, Flags: kaio.FlagResFd, ResFd: efd}); err != nil {
			panic(err)
		}
	}
	var count [8]byte
	total := uint64(0)
	for total < 3 {
		if _, err := unix.Read(efd, count[:]); err != nil { // blocks until a completion
			panic(err)
		}
		total += binary.NativeEndian.Uint64(count[:])
	}
	n, _ := ctx.GetEvents(0, make([]kaio.Event, 4), 0) // they are there: no wait
	fmt.Println(total, n)
	// Output: 3 3
}

// Poll: OpPoll completes once its fd is ready for the events asked, with
// the events that are ready.
func ExampleOpPoll() {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		panic(err)
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])

	ctx, err := kaio.Setup(1)
	if err != nil {
		panic(err)
	}
	defer ctx.Destroy()

	poll := &kaio.Iocb{Op: kaio.OpPoll, Fd: p[0], Events: unix.POLLIN}
	if _, err := ctx.Submit(poll); err != nil {
		panic(err)
	}
	events := make([]kaio.Event, 1)
	n, _ := ctx.GetEvents(1, events, 10*time.Millisecond)
	fmt.Println("ready before a write:", n)

	unix.Write(p[1], []byte("x"))
	if _, err := ctx.GetEvents(1, events, -1); err != nil {
		panic(err)
	}
	fmt.Println(events[0].Res&unix.POLLIN != 0)
	// Output:
	// ready before a write: 0
	// true
}

// A refused iocb: Submit says which and why, and the error still matches
// its errno.
func ExampleSubmitError() {
	ctx, err := kaio.Setup(4)
	if err != nil {
		panic(err)
	}
	defer ctx.Destroy()

	f, err := os.CreateTemp("", "kaio-example")
	if err != nil {
		panic(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()

	ok := &kaio.Iocb{Op: kaio.OpNoop}
	bad := &kaio.Iocb{Op: kaio.OpPRead, Fd: int(f.Fd()), Buf: make([]byte, 8), Offset: -1}
	n, err := ctx.Submit(ok, bad)
	fmt.Println(n, err)
	var se *kaio.SubmitError
	fmt.Println(errors.As(err, &se) && se.Iocb == bad, errors.Is(err, unix.EINVAL))
	// Output:
	// 1 kaio: Submit: iocbs[1] refused: negative offset -1 (EINVAL)
	// true true
}

// Registered buffers: the io units' memory handed to the kernel once. On
// the uring engine the reads below go as IORING_OP_READ_FIXED; on the
// others the registration is accepted and changes nothing.
func ExampleContext_RegisterBuffers() {
	f, err := os.CreateTemp("", "kaio-example")
	if err != nil {
		panic(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	f.WriteString("0123456789abcdef")

	ctx, err := kaio.Setup(4) // auto: uring where it works, else retry
	if err != nil {
		panic(err)
	}
	defer ctx.Destroy()

	arena := make([]byte, 16)
	if err := ctx.RegisterBuffers(arena); err != nil {
		fmt.Println("not registered:", err) // e.g. ENOMEM under a small RLIMIT_MEMLOCK; I/O still works
	}
	lo := &kaio.Iocb{Op: kaio.OpPRead, Fd: int(f.Fd()), Buf: arena[:8], Offset: 8}
	hi := &kaio.Iocb{Op: kaio.OpPRead, Fd: int(f.Fd()), Buf: arena[8:], Offset: 0}
	if _, err := ctx.Submit(lo, hi); err != nil {
		panic(err)
	}
	evs := make([]kaio.Event, 2)
	if _, err := ctx.GetEvents(2, evs, time.Second); err != nil {
		panic(err)
	}
	fmt.Println(string(arena))
	// Output: 89abcdef01234567
}

// Registered files: the context keeps its own reference to each, so the
// fds may be closed, and an iocb with FlagFixedFile names a file by its
// index. Submit checks a registered file without a syscall.
func ExampleContext_RegisterFiles() {
	dir, err := os.MkdirTemp("", "kaio-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	var fds []int
	for _, name := range []string{"a", "b"} {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			panic(err)
		}
		f.WriteString("file " + name)
		fd, err := unix.Dup(int(f.Fd()))
		if err != nil {
			panic(err)
		}
		f.Close()
		fds = append(fds, fd)
	}

	ctx, err := kaio.Setup(4)
	if err != nil {
		panic(err)
	}
	defer ctx.Destroy()
	if err := ctx.RegisterFiles(fds...); err != nil {
		panic(err)
	}
	for _, fd := range fds {
		unix.Close(fd)
	}

	buf := make([]byte, 6)
	ev := ctx.Do(&kaio.Iocb{Op: kaio.OpPRead, Fd: 1, Flags: kaio.FlagFixedFile, Buf: buf})
	fmt.Println(ev.Res, string(buf))
	_, err = ctx.Submit(&kaio.Iocb{Op: kaio.OpPRead, Fd: 2, Flags: kaio.FlagFixedFile, Buf: buf})
	fmt.Println(err)
	// Output:
	// 6 file b
	// kaio: Submit: iocbs[0] refused: FlagFixedFile: no registered file at index 2 (2 slots registered) (EBADF)
}

// Files: an os.File look-alike that many goroutines may read at once;
// their reads share one ring, and a read of cached data completes on the
// calling goroutine.
func ExampleOpenFile() {
	dir, err := os.MkdirTemp("", "kaio-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	name := filepath.Join(dir, "data")

	f, err := kaio.OpenFile(name, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		panic(err)
	}
	defer f.Close()
	for i := 0; i < 4; i++ {
		if _, err := f.WriteAt([]byte(fmt.Sprintf("block %d;", i)), int64(8*i)); err != nil {
			panic(err)
		}
	}

	var wg sync.WaitGroup
	got := make([]string, 4)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 8)
			if _, err := f.ReadAt(buf, int64(8*i)); err != nil {
				panic(err)
			}
			got[i] = string(buf)
		}()
	}
	wg.Wait()
	fmt.Println(got)

	_, err = f.ReadAt(make([]byte, 10), 28) // 4 bytes are left there
	fmt.Println(err == io.EOF)
	// Output:
	// [block 0; block 1; block 2; block 3;]
	// true
}
