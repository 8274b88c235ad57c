//go:build linux

package kickrace

import (
	"slices"
	"testing"

	"github.com/kaio-go/kaio/internal/explore"
)

// kernelBound is a scenario's preemption bound, lowered under -short and
// the race detector (which slows the explorer about tenfold); the command
// line and CI explore the full bound.
func kernelBound(s KernelScenario) int {
	if (testing.Short() || raceEnabled) && s.Preemptions > 1 {
		return 1
	}
	return s.Preemptions
}

// TestKernelScenariosPass: internal/kctx passes every kernel scenario in
// both flavours, exhaustively within the scenario's bound.
func TestKernelScenariosPass(t *testing.T) {
	for _, p := range KctxProtocols {
		for _, s := range KernelScenarios {
			opts := explore.Options{Preemptions: kernelBound(s)}
			if raceEnabled {
				opts.MaxSchedules = 2000 // the race detector checks the code, not every schedule
			}
			r := explore.Explore(s.Setup(p), opts)
			if r.Failed > 0 || !r.Exhaustive && !raceEnabled || r.Schedules < 2 {
				t.Errorf("%s %s: %d schedules, exhaustive %v, failures %v", p.Name, s.Name, r.Schedules, r.Exhaustive, r.Kinds())
			}
		}
	}
}

// TestKernelSabotage: each kernel scenario catches a broken bookkeeping:
// the one at 9fadd19 (BeforeProtocols), or kctx under a binding that ends
// a request on a successful cancel. The kinds found are the ones expected.
func TestKernelSabotage(t *testing.T) {
	uring, native := BeforeProtocols[0], BeforeProtocols[1]
	cases := []struct {
		scenario string
		p        *KernelProtocol
		want     []string // any of these
	}{
		{"k-cancelsubmit", uring, []string{"lost-event"}},     // ASYNC_CANCEL misses a poll in transit; -ENOENT taken as done
		{"k-cancelsubmit", native, []string{"lost-event"}},    // io_cancel before io_submit, its EINVAL ignored
		{"k-destroymiss", uring, []string{"destroy-hang"}},    // Destroy asks once and waits for every CQE
		{"k-stream", uring, []string{"destroy-hang"}},         // the same, for a stream polled again
		{"k-two", uring, []string{"destroy-hang"}},            // the same, beside an I/O
		{"k-do", uring, []string{"deadlock", "destroy-hang"}}, // Do's poll is never ended
		{"k-cancelio", KctxEndsOnCancelled(URingFlavour), []string{"completion", "panic"}},
		{"k-cancelio", KctxEndsOnCancelled(NativeFlavour), []string{"completion", "panic"}},
	}
	covered := map[string]bool{}
	for _, tc := range cases {
		s, ok := FindKernel(tc.scenario)
		if !ok {
			t.Fatalf("no scenario %q", tc.scenario)
		}
		covered[s.Name] = true
		r := explore.Explore(s.Setup(tc.p), explore.Options{Preemptions: kernelBound(s), StopAtFirst: true})
		found := false
		for _, k := range r.Kinds() {
			found = found || slices.Contains(tc.want, k)
		}
		if !found {
			t.Errorf("%s under %s: found %v, want one of %v", tc.scenario, tc.p.Name, r.Kinds(), tc.want)
		}
	}
	for _, s := range KernelScenarios {
		if !covered[s.Name] {
			t.Errorf("scenario %s has no sabotage case", s.Name)
		}
	}
}
