//go:build linux

package kickrace

import (
	"bytes"
	"strings"
	"testing"

	"github.com/kaio-go/kaio/internal/explore"
)

// kaioOptions explores every schedule within the scenario's preemption
// bound; under the race detector or with -short, within at most 2. (CI
// also runs cmd/aio-race -protocol kaio, with the scenarios' bounds.)
func kaioOptions(s Scenario) explore.Options {
	b := s.Preemptions
	if (testing.Short() || raceEnabled) && b > 2 {
		b = 2
	}
	return explore.Options{Preemptions: b}
}

func TestKaioNoScheduleFails(t *testing.T) {
	for _, s := range Scenarios {
		t.Run(s.Name, func(t *testing.T) {
			o := Explore(Kaio, s, kaioOptions(s))
			r := o.Result
			if !r.Exhaustive {
				t.Errorf("not exhaustive")
			}
			for _, k := range r.Kinds() {
				var b bytes.Buffer
				PrintTrace(&b, r.Shortest[k])
				t.Errorf("%s failed (%s):\n%s", s.Name, k, b.String())
			}
			t.Logf("%s: %d schedules, up to %d steps", s.Name, r.Schedules, r.MaxDepth)
		})
	}
}

func TestRC3FindsTheRFCRaces(t *testing.T) {
	found := map[string]bool{}
	for _, s := range Scenarios {
		if !s.RunsOn(RC3) {
			continue
		}
		r := Explore(RC3, s, explore.Options{Preemptions: 2}).Result
		for _, k := range r.Kinds() {
			found[k] = true
		}
	}
	for _, k := range []string{"1a", "1b", "2"} {
		if !found[k] {
			t.Errorf("race (%s) not found under rc3; found %v", k, found)
		}
	}
	for k := range found {
		if Races[k] == "" || k == "panic" || k == "deadlock" || k == "lost-wakeup" {
			t.Errorf("unexpected failure kind %q under rc3", k)
		}
	}
}

func TestV2614(t *testing.T) {
	// What 2.6.14 merged closes the RFC's races in the async path; its
	// sync branch still reads ki_obj.tsk after setting KIF_KICKED.
	for _, s := range Scenarios {
		if !s.RunsOn(V2614) {
			continue
		}
		r := Explore(V2614, s, explore.Options{Preemptions: 2}).Result
		want := 0
		if s.Sync {
			want = 1
			if r.Shortest["1a-sync"] == nil {
				t.Errorf("%s: sync-branch race not found", s.Name)
			}
		}
		if len(r.Kinds()) != want {
			t.Errorf("%s: found %v", s.Name, r.Kinds())
		}
	}
}

func TestMain_(t *testing.T) {
	var b bytes.Buffer
	failed, err := Main(Config{Protocol: "rc3", Scenario: "all", Options: explore.Options{Preemptions: 2}}, &b)
	if err != nil || !failed {
		t.Fatalf("rc3: failed %v err %v", failed, err)
	}
	out := b.String()
	for _, want := range []string{Races["1a"], Races["1b"], Races["2"], "waker (softirq", "kiocbTryKick(iocb)"} {
		if !strings.Contains(out, want) {
			t.Errorf("rc3 report lacks %q:\n%s", want, out)
		}
	}
	b.Reset()
	failed, err = Main(Config{Protocol: "kaio", Scenario: "complete", Options: explore.Options{Preemptions: -1}}, &b)
	if err != nil || failed || !strings.Contains(b.String(), "no schedule failed") {
		t.Fatalf("kaio: failed %v err %v:\n%s", failed, err, b.String())
	}
	if _, err := Main(Config{Protocol: "nope", Scenario: "all"}, &b); err == nil {
		t.Error("unknown protocol accepted")
	}
	if _, err := Main(Config{Protocol: "kaio", Scenario: "nope"}, &b); err == nil {
		t.Error("unknown scenario accepted")
	}
}

// TestDeterministic: the same exploration gives the same counts.
func TestDeterministic(t *testing.T) {
	s, _ := Find("twowakes")
	a := Explore(Kaio, s, explore.Options{Preemptions: 2}).Result
	b := Explore(Kaio, s, explore.Options{Preemptions: 2}).Result
	if a.Schedules != b.Schedules || a.MaxDepth != b.MaxDepth {
		t.Errorf("%d/%d schedules, %d/%d steps", a.Schedules, b.Schedules, a.MaxDepth, b.MaxDepth)
	}
}
