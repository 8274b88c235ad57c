package kaio

// Option configures Setup.
type Option func(*config)

type config struct {
	engine      Engine
	workers     int
	deferWrites bool
}

// WithEngine chooses the engine; the default is EngineAuto.
func WithEngine(e Engine) Option { return func(c *config) { c.engine = e } }

// WithWorkers bounds the goroutines that do blocking work for the context
// (uncached reads, O_DIRECT, fsync). 0 keeps the engine's default.
func WithWorkers(n int) Option { return func(c *config) { c.workers = n } }

// WithDeferredWrites leaves the buffered writes that would block (on
// ext4, all of them: it refuses RWF_NOWAIT for buffered writes) for
// GetEvents to make, on the goroutine that calls it, instead of handing
// them to a worker goroutine. A program that submits and reaps on one
// goroutine then makes its writes and takes their completions without
// any goroutine waking another: each such wake-up costs the waker tens of
// microseconds on a virtual machine. It is io_uring's
// IORING_SETUP_DEFER_TASKRUN, with its contract: a deferred write makes no
// progress until some goroutine calls GetEvents (any call, whatever its
// minNr and timeout; it makes the writes deferred so far before it reaps,
// so it can take longer than its timeout). Cancel and Destroy end
// deferred writes as they end any queued request. Retry engine only
// (EngineAuto where it resolves to retry); uring and native ignore it.
func WithDeferredWrites() Option { return func(c *config) { c.deferWrites = true } }
