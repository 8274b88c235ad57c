//go:build linux

package fsx

import (
	"fmt"
	"strings"
)

// longOpt is one entry of getopt_long's option table.
type longOpt struct {
	name string
	arg  int // noArg, requiredArg or optionalArg
	code int // returned as the option's code (>= 256 to stay apart from short options)
}

const (
	noArg = iota
	requiredArg
	optionalArg
)

// opt is one parsed option: its code (the short option's byte, or a long
// option's code) and its argument, if any.
type opt struct {
	code   int
	arg    string
	hasArg bool

	// Where it came from, for messages and for rewriting the command
	// line: the element of args holding the option, whether the option
	// ends that element, and the element and byte offset of its argument
	// (argIdx -1 when it has none).
	idx    int
	last   bool
	argIdx int
	argOff int
}

// usageError is bad command-line input: the message getopt would print.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// getopt parses args the way glibc's getopt_long does with the given short
// option string and long table, so that the command lines that work with the
// C fsx work here: combined flags ("-dq"), attached or detached arguments
// ("-N100", "-N 100"), options after operands (argument permutation), "--"
// ending the options, and unambiguous prefixes of long options ("--dur=5").
// It returns the options in order and the operands.
func getopt(args []string, shorts string, longs []longOpt) ([]opt, []string, error) {
	var opts []opt
	var operands []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			operands = append(operands, args[i+1:]...)
			return opts, operands, nil
		case strings.HasPrefix(a, "--"):
			name, val, hasVal := strings.Cut(a[2:], "=")
			lo, err := findLong(name, longs)
			if err != nil {
				return nil, nil, err
			}
			o := opt{code: lo.code, idx: i, last: true, argIdx: -1}
			switch lo.arg {
			case noArg:
				if hasVal {
					return nil, nil, &usageError{fmt.Sprintf("option '--%s' doesn't allow an argument", lo.name)}
				}
			case requiredArg:
				if hasVal {
					o.arg, o.hasArg, o.argIdx, o.argOff = val, true, i, len(a)-len(val)
				} else if i+1 < len(args) {
					i++
					o.arg, o.hasArg, o.argIdx = args[i], true, i
				} else {
					return nil, nil, &usageError{fmt.Sprintf("option '--%s' requires an argument", lo.name)}
				}
			case optionalArg:
				o.arg, o.hasArg = val, hasVal
				if hasVal {
					o.argIdx, o.argOff = i, len(a)-len(val)
				}
			}
			opts = append(opts, o)
		case len(a) > 1 && a[0] == '-':
			for j := 1; j < len(a); j++ {
				c := a[j]
				k := strings.IndexByte(shorts, c)
				if c == ':' || k < 0 {
					return nil, nil, &usageError{fmt.Sprintf("invalid option -- '%c'", c)}
				}
				o := opt{code: int(c), idx: i, last: j == len(a)-1, argIdx: -1}
				if k+1 < len(shorts) && shorts[k+1] == ':' {
					if j+1 < len(a) {
						o.arg, o.hasArg, o.argIdx, o.argOff = a[j+1:], true, i, j+1
					} else if i+1 < len(args) {
						i++
						o.arg, o.hasArg, o.argIdx = args[i], true, i
					} else {
						return nil, nil, &usageError{fmt.Sprintf("option requires an argument -- '%c'", c)}
					}
					opts = append(opts, o)
					break
				}
				opts = append(opts, o)
			}
		default:
			operands = append(operands, a)
		}
	}
	return opts, operands, nil
}

// findLong finds a long option by its name or by a prefix that matches only
// one option, as getopt_long does.
func findLong(name string, longs []longOpt) (longOpt, error) {
	var found []longOpt
	for _, lo := range longs {
		if lo.name == name {
			return lo, nil
		}
		if strings.HasPrefix(lo.name, name) {
			found = append(found, lo)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return longOpt{}, &usageError{fmt.Sprintf("unrecognized option '--%s'", name)}
	}
	return longOpt{}, &usageError{fmt.Sprintf("option '--%s' is ambiguous", name)}
}
