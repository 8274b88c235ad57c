//go:build linux

package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
)

// checkFlags refuses what flag.Parse lets through: a bound below what it
// means (-preemptions below -1, -max-schedules below 0), an -svg file that
// cannot be written (found before the search, not after minutes of it),
// and arguments that are not flags, which would otherwise be ignored and
// the run exit 0. Each error names the flag and the value.
func checkFlags(fs *flag.FlagSet) error {
	if v, ok := intFlag(fs, "preemptions"); ok && v < -1 {
		return fmt.Errorf("-preemptions %d: want -1 (no bound) or a bound >= 0", v)
	}
	if v, ok := intFlag(fs, "max-schedules"); ok && v < 0 {
		return fmt.Errorf("-max-schedules %d: want 0 (no bound) or a number of schedules >= 1", v)
	}
	if f := fs.Lookup("svg"); f != nil && isSet(fs, "svg") {
		if err := canWrite(f.Value.String()); err != nil {
			return fmt.Errorf("-svg %q: %v", f.Value.String(), err)
		}
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: aio-race takes flags only (-h lists them)", fs.Arg(0))
	}
	return nil
}

// canWrite says why path cannot be written, without changing what is
// there: an existing file must be a regular file (not a directory, nor a
// FIFO that would block the write) open for writing; a new one must be
// creatable in its directory, and is removed again.
func canWrite(path string) error {
	if path == "" {
		return errors.New("want a file name")
	}
	fi, err := os.Stat(path)
	switch {
	case err == nil && !fi.Mode().IsRegular():
		return errors.New("not a regular file")
	case err == nil:
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return errnoOf(err)
		}
		return f.Close()
	case errors.Is(err, fs.ErrNotExist):
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
		if err != nil {
			return errnoOf(err)
		}
		f.Close()
		return os.Remove(path)
	}
	return errnoOf(err)
}

// errnoOf drops the path from a *fs.PathError: the message names it.
func errnoOf(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err
	}
	return err
}

// intFlag is the value of an int flag of fs, if it has one by that name.
func intFlag(fs *flag.FlagSet, name string) (int, bool) {
	f := fs.Lookup(name)
	if f == nil {
		return 0, false
	}
	g, ok := f.Value.(flag.Getter)
	if !ok {
		return 0, false
	}
	v, ok := g.Get().(int)
	return v, ok
}

// isSet says whether the command line gave the flag.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
