package kaio

import (
	"fmt"
	"strings"
	"sync"

	"github.com/kaio-go/kaio/internal/core"
	"github.com/kaio-go/kaio/internal/native"
	"github.com/kaio-go/kaio/internal/retry"
	"github.com/kaio-go/kaio/internal/uring"
	"golang.org/x/sys/unix"
)

// Engine names an implementation behind the API.
type Engine int

// The engines. EngineAuto resolves at Setup: uring when Probe says it is
// usable, else retry.
const (
	EngineAuto Engine = iota
	EngineRetry
	EngineURing
	EngineNative
)

var engineNames = [...]string{"auto", "retry", "uring", "native"}

func (e Engine) String() string {
	if e >= 0 && int(e) < len(engineNames) {
		return engineNames[e]
	}
	return fmt.Sprintf("engine(%d)", int(e))
}

// ParseEngine parses "auto", "retry", "uring" or "native".
func ParseEngine(s string) (Engine, error) {
	for i, n := range engineNames {
		if strings.EqualFold(s, n) {
			return Engine(i), nil
		}
	}
	return 0, fmt.Errorf("kaio: unknown engine %q (want auto, retry, uring or native)", s)
}

// EngineStatus says whether an engine works on this machine, and if not why.
type EngineStatus struct {
	Engine Engine
	Usable bool
	Reason string // why not, when !Usable
	Err    error  // the errno behind Reason, if one (ENOSYS, EPERM, ENOMEM, ...)
}

// Probe reports, for each concrete engine, whether it works here. Each
// kernel engine is tried for real: a ring is set up, asked for the opcodes
// kaio needs, and entered once.
func Probe() []EngineStatus {
	return []EngineStatus{
		{Engine: EngineRetry, Usable: true},
		probeURing(),
		probeNative(),
	}
}

// probeURing and probeNative are variables so that a test can make a probe
// fail and watch auto fall back.
var (
	probeURing = func() EngineStatus {
		st := uring.Probe()
		return EngineStatus{Engine: EngineURing, Usable: st.Usable, Reason: st.Reason, Err: st.Err}
	}
	probeNative = func() EngineStatus {
		st := native.Probe()
		return EngineStatus{Engine: EngineNative, Usable: st.Usable, Reason: st.Reason, Err: st.Err}
	}
)

// auto remembers what autoEngine chose: probing sets up a ring, which is
// not worth doing at every Setup.
var auto struct {
	sync.Mutex
	done bool
	e    Engine
}

// autoEngine is EngineAuto's choice: uring when its probe says usable, else
// retry.
func autoEngine() Engine {
	auto.Lock()
	defer auto.Unlock()
	if !auto.done {
		auto.e = EngineRetry
		if probeURing().Usable {
			auto.e = EngineURing
		}
		auto.done = true
	}
	return auto.e
}

// resetAuto forgets autoEngine's choice (tests).
func resetAuto() {
	auto.Lock()
	auto.done = false
	auto.Unlock()
}

// setupReason is the reason a kernel engine's probe gives for the errno its
// New returned: which limit, with its current values. "" for the others.
func setupReason(e Engine, nr int, err error) string {
	switch e {
	case EngineURing:
		return uring.SetupReason(err, nr)
	case EngineNative:
		return native.SetupReason(err, nr)
	case EngineRetry, EngineAuto:
		return ""
	}
	return fmt.Sprintf("unknown engine %v (EINVAL)", e)
}

func newBackend(e Engine, nr int, cfg *config) (core.Backend, error) {
	switch e {
	case EngineRetry:
		return retry.New(nr, retry.Config{Workers: cfg.workers})
	case EngineURing:
		return uring.New(nr)
	case EngineNative:
		return native.New(nr)
	}
	return nil, unix.EINVAL
}
