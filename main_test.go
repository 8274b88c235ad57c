//go:build linux

package kaio_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any goroutine outlives the tests: every
// context the tests make is destroyed, and Destroy must release them all.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
