//go:build linux

package kaio_test

import (
	"testing"

	"github.com/kaio-go/kaio"
	"go.uber.org/goleak"
)

// TestMain fails the package if any goroutine outlives the tests: every
// context the tests make is destroyed, and Destroy must release them all.
// The shared Context of the Files is destroyed last, for the same check.
func TestMain(m *testing.M) { goleak.VerifyTestMain(runThenClose{m}) }

type runThenClose struct{ m *testing.M }

func (r runThenClose) Run() int {
	code := r.m.Run()
	kaio.CloseSharedContext()
	return code
}
