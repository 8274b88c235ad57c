//go:build linux

package kaio_test

import (
	"testing"

	"github.com/kaio-go/kaio"
	"github.com/kaio-go/kaio/internal/conformance"
)

// usable skips the test when Probe says the engine does not work here.
func usable(t *testing.T, e kaio.Engine) {
	t.Helper()
	for _, s := range kaio.Probe() {
		if s.Engine == e && !s.Usable {
			t.Skipf("engine %v is not usable here: %s", e, s.Reason)
		}
	}
}

func TestConformanceRetry(t *testing.T) {
	conformance.Run(t, kaio.WithEngine(kaio.EngineRetry))
}

// With its writes deferred to GetEvents, retry must keep every semantic
// the suite checks: it reaps with GetEvents, whose calls make them.
func TestConformanceRetryDeferred(t *testing.T) {
	conformance.Run(t, kaio.WithEngine(kaio.EngineRetry), kaio.WithDeferredWrites())
}

func TestConformanceURing(t *testing.T) {
	usable(t, kaio.EngineURing)
	conformance.Run(t, kaio.WithEngine(kaio.EngineURing))
}

func TestConformanceNative(t *testing.T) {
	usable(t, kaio.EngineNative)
	conformance.Run(t, kaio.WithEngine(kaio.EngineNative))
}
