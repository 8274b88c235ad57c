//go:build linux

package kaio

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"
)

// TestProbeReportsEveryEngine: Probe answers for each concrete engine, with
// a reason whenever one is not usable.
func TestProbeReportsEveryEngine(t *testing.T) {
	seen := map[Engine]bool{}
	for _, s := range Probe() {
		seen[s.Engine] = true
		t.Logf("%v: usable %v %s", s.Engine, s.Usable, s.Reason)
		if !s.Usable && s.Reason == "" {
			t.Errorf("%v unusable without a reason", s.Engine)
		}
	}
	for _, e := range []Engine{EngineRetry, EngineURing, EngineNative} {
		if !seen[e] {
			t.Errorf("Probe says nothing about %v", e)
		}
	}
}

// TestAutoFallsBackToRetry: when the io_uring probe fails (here through
// the test hook, as it would under a seccomp profile), auto picks retry.
func TestAutoFallsBackToRetry(t *testing.T) {
	saved := probeURing
	defer func() { probeURing = saved; resetAuto() }()
	probeURing = func() EngineStatus {
		return EngineStatus{Engine: EngineURing, Reason: "io_uring_setup is not permitted (test)", Err: unix.EPERM}
	}
	resetAuto()
	c, err := Setup(4)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Destroy()
	if c.Engine() != EngineRetry {
		t.Fatalf("auto chose %v with io_uring refused, want retry", c.Engine())
	}
	if ev := c.Do(&Iocb{Op: OpNoop}); ev.Res != 0 {
		t.Fatalf("Do on the fallback: %+v", ev)
	}
}

// TestAutoPicksURing: auto is uring when its probe says usable.
func TestAutoPicksURing(t *testing.T) {
	resetAuto()
	if !probeURing().Usable {
		t.Skip("io_uring not usable here")
	}
	c, err := Setup(4)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Destroy()
	if c.Engine() != EngineURing {
		t.Fatalf("auto chose %v, want uring", c.Engine())
	}
}

func TestUnknownEngine(t *testing.T) {
	if _, err := Setup(4, WithEngine(Engine(42))); !errors.Is(err, unix.EINVAL) {
		t.Fatalf("Setup with engine 42: %v", err)
	}
}
