//go:build linux

package kaio

// CloseSharedContext destroys the process-wide Context that Files use by
// default, so that the package's goroutine-leak check, run after every
// test, sees none of its goroutines (the retry engine's workers outlive
// the calls that started them).
func CloseSharedContext() {
	shared.Lock()
	defer shared.Unlock()
	if shared.c != nil {
		shared.c.Destroy()
		shared.c = nil
	}
}

// FileContext is the Context f runs on.
func FileContext(f *File) *Context { return f.ring.c }

// FileBatches says how the Files on c were batched: Submit calls, the
// requests they carried, and the most one carried.
func FileBatches(c *Context) (submits, submitted uint64, maxBatch int) {
	r := c.fileRing()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.submits, r.submitted, r.maxBatch
}

// FileHintPrivate says whether Submit takes f's fd as known in full
// (core.FdInfo.Private): while its descriptor has not left the File.
func FileHintPrivate(f *File) bool { return f.hint().Private }
