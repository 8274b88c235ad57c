package kaio

// Option configures Setup.
type Option func(*config)

type config struct {
	engine  Engine
	workers int
}

// WithEngine chooses the engine; the default is EngineAuto.
func WithEngine(e Engine) Option { return func(c *config) { c.engine = e } }

// WithWorkers bounds the goroutines that do blocking work for the context
// (uncached reads, O_DIRECT, fsync). 0 keeps the engine's default.
func WithWorkers(n int) Option { return func(c *config) { c.workers = n } }
