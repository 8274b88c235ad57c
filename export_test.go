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
