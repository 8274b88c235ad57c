//go:build linux

package fsx

import (
	"fmt"
	"io"
	"time"

	"github.com/kaio-go/kaio"
	"golang.org/x/sys/unix"
)

// rwPath is where reads and writes go (the C tool's fsx_rw): plain
// syscalls, or a kaio context. Both return what C's call returns: the byte
// count, and an error only when it is -1.
type rwPath interface {
	read(fd int, buf []byte, off int64, flags int) (int, error)
	write(fd int, buf []byte, off int64, flags int) (int, error)
	close()
}

// plainPath is the C tool's default: preadv2/pwritev2 with the op's RWF_
// flags. Without flags it uses pread/pwrite, which the kernel runs through
// the same code, and which costs no iovec. (EINTR cannot come back: the Go
// runtime installs its signal handlers with SA_RESTART.)
type plainPath struct{}

func (plainPath) read(fd int, buf []byte, off int64, flags int) (int, error) {
	if flags == 0 {
		return cResult(unix.Pread(fd, buf, off))
	}
	return cResult(unix.Preadv2(fd, [][]byte{buf}, off, flags))
}

func (plainPath) write(fd int, buf []byte, off int64, flags int) (int, error) {
	if flags == 0 {
		return cResult(unix.Pwrite(fd, buf, off))
	}
	return cResult(unix.Pwritev2(fd, [][]byte{buf}, off, flags))
}

func (plainPath) close() {}

// cResult makes a syscall's result C's: -1 with the error.
func cResult(n int, err error) (int, error) {
	if err != nil {
		return -1, err
	}
	return n, nil
}

// kaioPath sends each read and write as one iocb through a kaio context
// and waits for its event, as the C tool's -A did with libaio (1024
// events, one io_submit, io_getevents(1, 1, 30 s)). A short transfer is
// continued from where it stopped, as the C tool's -U did: engines may
// legitimately return part of a buffered transfer.
type kaioPath struct {
	stderr io.Writer // where a failed call says what failed, as aio_rw did
	ctx    *kaio.Context
	iocb   kaio.Iocb
	events [1]kaio.Event
	uring  bool

	// failing, if set, sees an error before it is reported: fsx's
	// xfszPending, which ends the run as the C tool's SIGXFSZ handler
	// would.
	failing func(error)
}

// aioQueue is the C tool's QSZ / URING_ENTRIES.
const aioQueue = 1024

// aioTimeout is the C tool's io_getevents timeout.
const aioTimeout = 30 * time.Second

func newKaioPath(e kaio.Engine, stderr io.Writer) (*kaioPath, error) {
	if e != kaio.EngineAuto {
		for _, st := range kaio.Probe() {
			if st.Engine == e && !st.Usable {
				return nil, fmt.Errorf("not usable here: %s", st.Reason)
			}
		}
	}
	ctx, err := kaio.Setup(aioQueue, kaio.WithEngine(e))
	if err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	return &kaioPath{stderr: stderr, ctx: ctx, uring: e == kaio.EngineURing}, nil
}

func (p *kaioPath) read(fd int, buf []byte, off int64, flags int) (int, error) {
	return p.rw(kaio.OpPRead, fd, buf, off, flags)
}

func (p *kaioPath) write(fd int, buf []byte, off int64, flags int) (int, error) {
	return p.rw(kaio.OpPWrite, fd, buf, off, flags)
}

func (p *kaioPath) rw(op kaio.Op, fd int, buf []byte, off int64, flags int) (int, error) {
	n, err := p.rw1(op, fd, buf, off, flags)
	if err != nil {
		if p.failing != nil {
			p.failing(err)
		}
		fmt.Fprintf(p.stderr, "fsx: %s on engine %s: %v\n", op, p.ctx.Engine(), err)
	}
	return n, err
}

func (p *kaioPath) rw1(op kaio.Op, fd int, buf []byte, off int64, flags int) (int, error) {
	// -A in the C tool dropped the RWF_ flags (libaio's io_prep_* have no
	// place for them); -U passed them. Do the same, so -A and -U do what
	// they did.
	if !p.uring {
		flags = 0
	}
	done := 0
	for done < len(buf) {
		// Field by field: the iocb's unexported state is the context's.
		p.iocb.Op, p.iocb.Fd, p.iocb.Buf = op, fd, buf[done:]
		p.iocb.Offset, p.iocb.RWFlags = off+int64(done), flags
		if _, err := p.ctx.Submit(&p.iocb); err != nil {
			return -1, err // a *kaio.SubmitError: "kaio: Submit: iocbs[0] refused: ..."
		}
		n, err := p.ctx.GetEvents(1, p.events[:], aioTimeout)
		if err != nil {
			return -1, fmt.Errorf("kaio getevents: %w", err)
		}
		if n != 1 {
			return -1, fmt.Errorf("kaio getevents: no events available after %v", aioTimeout)
		}
		ev := p.events[0]
		p.events[0] = kaio.Event{}
		if ev.Res < 0 {
			return -1, fmt.Errorf("kaio event: %w", ev.Err())
		}
		if ev.Res == 0 {
			break
		}
		done += int(ev.Res)
	}
	return done, nil
}

func (p *kaioPath) close() { p.ctx.Destroy() }
