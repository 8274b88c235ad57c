package kaio

import (
	"fmt"
	"strings"

	"github.com/kaio-go/kaio/internal/core"
	"github.com/kaio-go/kaio/internal/retry"
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

// Probe reports, for each concrete engine, whether it works here.
func Probe() []EngineStatus {
	return []EngineStatus{
		{Engine: EngineRetry, Usable: true},
		probeURing(),
		probeNative(),
	}
}

func probeURing() EngineStatus {
	return EngineStatus{Engine: EngineURing, Reason: "not built yet", Err: unix.ENOSYS}
}

func probeNative() EngineStatus {
	return EngineStatus{Engine: EngineNative, Reason: "not built yet", Err: unix.ENOSYS}
}

func autoEngine() Engine {
	if probeURing().Usable {
		return EngineURing
	}
	return EngineRetry
}

func newBackend(e Engine, nr int, cfg *config) (core.Backend, error) {
	switch e {
	case EngineRetry:
		return retry.New(nr, retry.Config{Workers: cfg.workers})
	case EngineURing, EngineNative:
		return nil, unix.ENOSYS
	}
	return nil, unix.EINVAL
}
