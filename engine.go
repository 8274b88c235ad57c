package kaio

import (
	"fmt"
	"strings"
	"sync"
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
	// Engine is the engine this is about: EngineRetry, EngineURing or
	// EngineNative.
	Engine Engine
	// Usable reports that Setup with WithEngine(Engine) works here (up to
	// the limits that Setup's nrEvents may hit).
	Usable bool
	// Reason says why not, when !Usable: the setting or limit that
	// refused the engine, with its current value ("io_uring_setup is
	// refused by a seccomp filter (Seccomp: 2) (EPERM)"), or the platform
	// that has none of kaio's engines.
	Reason string
	// Err is the error behind Reason: an errno (ENOSYS, EPERM, ENOMEM,
	// EAGAIN, ...), or one that wraps errors.ErrUnsupported where kaio's
	// engines do not exist. Nil when Usable.
	Err error
}

// Probe reports, for each concrete engine, whether it works here. On Linux
// each kernel engine is tried for real: a ring is set up, asked for the
// opcodes kaio needs, and entered once. Elsewhere every engine is
// reported unusable, with the reason.
func Probe() []EngineStatus {
	return []EngineStatus{probeRetry(), probeURing(), probeNative()}
}

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
