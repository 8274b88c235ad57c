package main

import (
	"flag"
	"fmt"
)

// checkFlags refuses what flag.Parse lets through: a bound below what it
// means (-preemptions below -1, -max-schedules below 0) and arguments that
// are not flags, which would otherwise be ignored and the run exit 0. Each
// error names the flag and the value.
func checkFlags(fs *flag.FlagSet) error {
	if v, ok := intFlag(fs, "preemptions"); ok && v < -1 {
		return fmt.Errorf("-preemptions %d: want -1 (no bound) or a bound >= 0", v)
	}
	if v, ok := intFlag(fs, "max-schedules"); ok && v < 0 {
		return fmt.Errorf("-max-schedules %d: want 0 (no bound) or a number of schedules >= 1", v)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: aio-race takes flags only (-h lists them)", fs.Arg(0))
	}
	return nil
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
