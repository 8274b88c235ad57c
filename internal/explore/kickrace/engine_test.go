//go:build linux

package kickrace

import (
	"bytes"
	"testing"

	"github.com/kaio-go/kaio/internal/explore"
	"github.com/kaio-go/kaio/internal/kick"
	"github.com/kaio-go/kaio/internal/retry"
)

// TestEngineSabotage breaks the retry engine's own code on purpose, one
// way per scenario of several requests, and checks that the scenario
// finds it within its preemption bound: a scenario that cannot tell a
// broken engine from a sound one proves nothing.
func TestEngineSabotage(t *testing.T) {
	for _, tc := range []struct {
		scenario string
		broken   string
		x        retry.Explorer
		want     []string // failure kinds, one of which must be found
	}{
		{"pollshortcut", "the poller's second look at the run list dropped", retry.Explorer{Sabotage: retry.Sabotage{NoSecondLook: true}}, []string{"lost-wakeup", "deadlock"}},
		{"requeue", "the end of an iteration split in two critical sections", retry.Explorer{Broken: &kick.Broken{EndWait: (*kick.Ctx).EndWaitSplit}}, []string{"2", "1b", "panic"}},
		{"wakecanceldestroy", "Destroy does not take waiting requests off their queues", retry.Explorer{Sabotage: retry.Sabotage{DestroySkipsUnlink: true}}, []string{"deadlock"}},
		{"destroyreaper", "Destroy does not take waiting requests off their queues", retry.Explorer{Sabotage: retry.Sabotage{DestroySkipsUnlink: true}}, []string{"deadlock"}},
		{"offloadpoll", "an offload worker drops the request its kick queued", retry.Explorer{Sabotage: retry.Sabotage{WorkerDropsKick: true}}, []string{"lost-wakeup", "deadlock"}},
		{"syncasync", "the wake callback unlinks before it kicks, in two critical sections", retry.Explorer{Broken: &kick.Broken{Wake: (*kick.Ctx).WakeUnlinkFirst}}, []string{"1a", "1b", "1a-sync", "panic"}},
		{"three", "an offload worker drops the request its kick queued", retry.Explorer{Sabotage: retry.Sabotage{WorkerDropsKick: true}}, []string{"lost-wakeup", "deadlock"}},
		{"offloadbatch", "a worker that made a batch of writes does not say it is done", retry.Explorer{Sabotage: retry.Sabotage{BatchStaysBusy: true}}, []string{"lost-wakeup", "deadlock"}},
		{"deferwrites", "deferring a write does not wake a reaper asleep in GetEvents", retry.Explorer{Sabotage: retry.Sabotage{DeferNoWake: true}}, []string{"lost-wakeup", "deadlock"}},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			s, ok := Find(tc.scenario)
			if !ok {
				t.Fatalf("no scenario %q", tc.scenario)
			}
			opts := explore.Options{Preemptions: s.Preemptions, StopAtFirst: true}
			r := Explore(KaioWith(tc.broken, tc.x), s, opts).Result
			for _, k := range tc.want {
				if f := r.Shortest[k]; f != nil {
					var b bytes.Buffer
					PrintTrace(&b, f)
					t.Logf("%s: found %s in %d steps:\n%s", tc.broken, k, f.Steps, b.String())
					return
				}
			}
			t.Errorf("%s: the explorer found %v, want one of %v", tc.broken, r.Kinds(), tc.want)
		})
	}
}
