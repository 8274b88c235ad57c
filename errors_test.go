//go:build linux

package kaio

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/kaio-go/kaio/internal/procinfo"
	"golang.org/x/sys/unix"
)

// TestSetupErrorsNameTheLimit: every refusal of Setup is a *SetupError
// that matches its errno and says which bound it hit.
func TestSetupErrorsNameTheLimit(t *testing.T) {
	for _, tc := range []struct {
		nr    int
		opts  []Option
		errno unix.Errno
		want  string
	}{
		{0, nil, unix.EINVAL, "Setup(0) on engine auto: nrEvents must be at least 1 (EINVAL)"},
		{-5, []Option{WithEngine(EngineRetry)}, unix.EINVAL, "Setup(-5) on engine retry: nrEvents must be at least 1"},
		{1<<20 + 1, nil, unix.EINVAL, "nrEvents above the bound of 1<<20 (1048576) (EINVAL)"},
		{4, []Option{WithWorkers(-1)}, unix.EINVAL, "WithWorkers(-1): a negative number of workers"},
		{4, []Option{WithEngine(Engine(42))}, unix.EINVAL, "Setup(4) on engine engine(42): unknown engine engine(42) (EINVAL)"},
	} {
		c, err := Setup(tc.nr, tc.opts...)
		if err == nil {
			c.Destroy()
			t.Errorf("Setup(%d): no error", tc.nr)
			continue
		}
		var se *SetupError
		if !errors.As(err, &se) || !errors.Is(err, tc.errno) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Setup(%d): %v (%T); want a *SetupError, %v, with %q", tc.nr, err, err, tc.errno, tc.want)
		}
	}
	if c, err := Setup(1 << 20); err == nil {
		c.Destroy() // the bound itself is allowed (if the engine can)
	} else if strings.Contains(err.Error(), "1<<20") {
		t.Errorf("Setup(1<<20) refused for the bound: %v", err)
	}
}

// TestSetupErrorNativeAioMaxNr: Linux AIO refuses a context larger than
// fs.aio-max-nr with EAGAIN, for real; the error says so with the values
// (issue 14: "resource temporarily unavailable" with no word about
// aio-max-nr).
func TestSetupErrorNativeAioMaxNr(t *testing.T) {
	usableOrSkip(t, EngineNative)
	max, ok := procinfo.SysctlInt("fs.aio-max-nr")
	if !ok || max+1 > maxEvents {
		t.Skipf("fs.aio-max-nr %d (ok %v): no context size over it is below Setup's own bound", max, ok)
	}
	c, err := Setup(int(max), WithEngine(EngineNative))
	if err == nil {
		c.Destroy()
		t.Fatalf("Setup(%d) on native with fs.aio-max-nr %d succeeded", max, max)
	}
	var se *SetupError
	want := "more than fs.aio-max-nr (" + strconv.FormatInt(max, 10) + ")"
	if !errors.As(err, &se) || !errors.Is(err, unix.EAGAIN) || se.Engine != EngineNative || !strings.Contains(err.Error(), want) {
		t.Fatalf("Setup(%d) on native: %v; want EAGAIN with %q", max, err, want)
	}
	t.Log(err)
}

func usableOrSkip(t *testing.T, e Engine) {
	t.Helper()
	for _, s := range Probe() {
		if s.Engine == e && !s.Usable {
			t.Skipf("engine %v is not usable here: %s", e, s.Reason)
		}
	}
}

// TestSubmitErrorCost: a refusal costs one allocation, the SubmitError,
// whose words are not made until Error is called; an accepted iocb costs
// none. (A caller that submits until the ring is full meets EAGAIN often.)
func TestSubmitErrorCost(t *testing.T) {
	for _, e := range []Engine{EngineRetry, EngineURing, EngineNative} {
		t.Run(e.String(), func(t *testing.T) {
			usableOrSkip(t, e)
			c, err := Setup(1, WithEngine(e))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Destroy()
			io, extra := &Iocb{Op: OpNoop}, &Iocb{Op: OpNoop}
			evs := make([]Event, 1)
			cycle := func() {
				if n, err := c.Submit(io); n != 1 || err != nil {
					t.Fatalf("Submit: %d, %v", n, err)
				}
				if n, err := c.GetEvents(1, evs, -1); n != 1 || err != nil {
					t.Fatalf("GetEvents: %d, %v", n, err)
				}
			}
			cycle()
			if a := testing.AllocsPerRun(100, cycle); a != 0 {
				t.Errorf("a NOOP submitted and reaped: %v allocations, want 0", a)
			}
			if n, err := c.Submit(io); n != 1 || err != nil {
				t.Fatalf("Submit: %d, %v", n, err)
			}
			var last error
			refused := func() {
				if _, last = c.Submit(extra); !errors.Is(last, unix.EAGAIN) {
					t.Fatalf("Submit into a full ring: %v", last)
				}
			}
			if a := testing.AllocsPerRun(100, refused); a != 1 {
				t.Errorf("a refusal: %v allocations, want 1 (the SubmitError)", a)
			}
			if got, want := last.Error(), "kaio: Submit: iocbs[0] refused: ring full (1 in flight or unreaped) (EAGAIN)"; got != want {
				t.Errorf("%q, want %q", got, want)
			}
		})
	}
}
