//go:build linux

package kick_test

import (
	"bytes"
	"testing"

	"github.com/kaio-go/kaio/internal/explore"
	"github.com/kaio-go/kaio/internal/explore/kickrace"
	"github.com/kaio-go/kaio/internal/kick"
	"github.com/kaio-go/kaio/internal/retry"
)

func explored(t *testing.T, p *kickrace.Protocol) map[string]*explore.Failure {
	found := map[string]*explore.Failure{}
	for _, s := range kickrace.Scenarios {
		if !s.RunsOn(p) || s.Reqs != nil {
			continue // the single-request scenarios of the RFC
		}
		r := kickrace.Explore(p, s, explore.Options{Preemptions: 3}).Result
		for k, f := range r.Shortest {
			if old := found[k]; old == nil || f.Steps < old.Steps {
				found[k] = f
			}
		}
	}
	return found
}

// TestExplorerCatchesBrokenProtocol breaks kaio's protocol on purpose, the
// ways 2.6.13-rc3 was broken, and checks that the explorer finds it. (Under
// -race kick's invariant checks are compiled in and may fire first: then the
// failure is a "panic" with a "kaio: inconsistent" message.)
func TestExplorerCatchesBrokenProtocol(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    kick.Broken
		want []string // failure kinds, one of which must be found
	}{
		{"wake unlinks before the kick", kick.Broken{Wake: (*kick.Ctx).WakeUnlinkFirst}, []string{"1a", "1b", "panic"}},
		{"end of iteration split in two", kick.Broken{EndWait: (*kick.Ctx).EndWaitSplit}, []string{"2", "1b", "panic"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			found := explored(t, kickrace.KaioWith(tc.name, retry.Explorer{Broken: &tc.b}))
			ok := false
			for _, k := range tc.want {
				if f := found[k]; f != nil {
					ok = true
					var b bytes.Buffer
					kickrace.PrintTrace(&b, f)
					t.Logf("found %s in %d steps:\n%s", k, f.Steps, b.String())
				}
			}
			if !ok {
				t.Errorf("explorer found %v, want one of %v", keys(found), tc.want)
			}
		})
	}
}

// TestUnlockedSelfKickCheckIsBenign: moving only the read of "owed" out of
// the lock (rc3's unlocked list_empty) does not break kaio's protocol, because
// a waker never queues a running request: the runner's locked requeue
// decision sees the kick either way. (It would still be a data race for Go's
// race detector; the explorer does not look for those.)
func TestUnlockedSelfKickCheckIsBenign(t *testing.T) {
	found := explored(t, kickrace.KaioWith("unlocked check", retry.Explorer{Broken: &kick.Broken{EndWait: (*kick.Ctx).EndWaitUnlockedCheck}}))
	if len(found) != 0 {
		t.Errorf("found %v", keys(found))
	}
}

func keys(m map[string]*explore.Failure) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}
