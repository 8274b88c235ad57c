package kaio

import "os"

// FileOption configures Open, OpenFile and NewFile.
type FileOption func(*fileConfig)

type fileConfig struct {
	ctx *Context
}

// configure applies opts.
func configure(opts []FileOption) fileConfig {
	var cfg fileConfig
	for _, o := range opts {
		o(&cfg)
	}
	return cfg
}

// OnContext runs the File on c instead of the process-wide shared
// Context: to choose its engine, its ring size or its workers. Files on c
// reap c's events themselves, so c must not be reaped, nor its ring
// filled, by anything else: do not call GetEvents on it, and Destroy it
// only after its Files are closed (requests then in flight fail with
// ECANCELED).
func OnContext(c *Context) FileOption { return func(fc *fileConfig) { fc.ctx = c } }

// Open opens the named file for reading, as os.Open does.
func Open(name string, opts ...FileOption) (*File, error) {
	return OpenFile(name, os.O_RDONLY, 0, opts...)
}

// OpenFile opens the named file with flag (os.O_RDWR, os.O_CREATE,
// syscall.O_DIRECT, ...) and perm, as os.OpenFile does.
func OpenFile(name string, flag int, perm os.FileMode, opts ...FileOption) (*File, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	kf, err := newFile(f, true, opts)
	if err != nil {
		f.Close()
		return nil, err
	}
	return kf, nil
}
