package dockerseccomp

import (
	"fmt"
	"slices"
	"strings"

	seccompbpf "github.com/elastic/go-seccomp-bpf"
	"github.com/elastic/go-seccomp-bpf/arch"
	moby "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// DockerCapabilities is the bounding set Docker gives a container unless
// told otherwise (moby's oci/caps defaults). The profile's rules that
// depend on capabilities are resolved against it: without CAP_SYS_ADMIN,
// clone may not create namespaces and clone3 answers ENOSYS.
var DockerCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// Profile is Docker's default seccomp profile as runc receives it on this
// machine: moby's DefaultProfile with its architecture, kernel-version and
// capability conditions resolved (GetDefaultProfile, as dockerd does).
func Profile() (*specs.LinuxSeccomp, error) {
	spec := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{
		Bounding: DockerCapabilities, Effective: DockerCapabilities, Permitted: DockerCapabilities,
	}}}
	return moby.GetDefaultProfile(spec)
}

// Translation says what Translate left out or approximated.
type Translation struct {
	// Unknown are syscall names of the profile that this architecture does
	// not have (chown32, _llseek, ... on amd64). libseccomp, and so runc,
	// skip them the same way.
	Unknown []string
	// Notes are the approximations, one sentence each.
	Notes []string
}

// DockerPolicy is Profile translated for this architecture.
func DockerPolicy() (*seccompbpf.Policy, *Translation, error) {
	p, err := Profile()
	if err != nil {
		return nil, nil, err
	}
	return Translate(p, "")
}

// Translate turns an OCI seccomp profile into a go-seccomp-bpf policy for
// the architecture archName ("" for this one), as runc would load it with
// libseccomp:
//
//   - the default action, and each rule's action, with its errno
//     (ERRNO without one is EPERM, as in runc);
//   - one condition set per rule, its conditions ANDed; several rules for
//     one syscall ORed; where a rule compares one argument more than once,
//     each of those comparisons becomes a rule of its own, as runc does
//     (a range cannot be written as two comparisons of one argument);
//   - SCMP_CMP_MASKED_EQ with a zero value (the only form the profile
//     uses: "no namespace flags in clone's flags") as go-seccomp-bpf's
//     BitsNotSet, which is the same test.
//
// Approximations, reported in Notes: go-seccomp-bpf filters one
// architecture, so the profile's other architectures (x86 and x32 beside
// x86_64) are not given the allow-list: their syscalls get the default
// action (x32's get ENOSYS). A Go program on amd64 makes none.
func Translate(p *specs.LinuxSeccomp, archName string) (*seccompbpf.Policy, *Translation, error) {
	info, err := arch.GetInfo(archName)
	if err != nil {
		return nil, nil, err
	}
	def, err := action(p.DefaultAction, p.DefaultErrnoRet)
	if err != nil {
		return nil, nil, fmt.Errorf("default action: %w", err)
	}
	if !isNamed(def) {
		return nil, nil, fmt.Errorf("default action %v with errno %d: go-seccomp-bpf's default is a plain action (ERRNO is EPERM)", p.DefaultAction, *p.DefaultErrnoRet)
	}
	tr := &Translation{}
	var others []string
	for _, a := range p.Architectures {
		if !strings.EqualFold(strings.TrimPrefix(string(a), "SCMP_ARCH_"), archSeccompName(info)) {
			others = append(others, string(a))
		}
	}
	if len(others) > 0 {
		tr.Notes = append(tr.Notes, fmt.Sprintf("only %s is filtered by the allow-list; syscalls of %s get the default action (x32's: ENOSYS)", info.Name, strings.Join(others, ", ")))
	}

	// One group per action, in the order the profile names them: the
	// first group whose rule matches decides, and the profile never gives
	// one syscall two actions.
	type group struct {
		action seccompbpf.Action
		plain  []string
		conds  map[string][]seccompbpf.ArgumentConditions
		order  []string
	}
	var groups []*group
	find := func(a seccompbpf.Action) *group {
		for _, g := range groups {
			if g.action == a {
				return g
			}
		}
		g := &group{action: a, conds: map[string][]seccompbpf.ArgumentConditions{}}
		groups = append(groups, g)
		return g
	}
	for _, rule := range p.Syscalls {
		a, err := action(rule.Action, rule.ErrnoRet)
		if err != nil {
			return nil, nil, fmt.Errorf("rule for %v: %w", rule.Names, err)
		}
		sets, err := conditionSets(rule.Args)
		if err != nil {
			return nil, nil, fmt.Errorf("rule for %v: %w", rule.Names, err)
		}
		g := find(a)
		for _, name := range rule.Names {
			if _, ok := info.SyscallNames[name]; !ok {
				if !slices.Contains(tr.Unknown, name) {
					tr.Unknown = append(tr.Unknown, name)
				}
				continue
			}
			switch {
			case slices.Contains(g.plain, name):
				// Allowed whatever its arguments: conditions add nothing.
			case len(sets) == 0:
				g.plain = append(g.plain, name)
				if _, ok := g.conds[name]; ok {
					delete(g.conds, name)
					g.order = slices.DeleteFunc(g.order, func(n string) bool { return n == name })
				}
			default:
				if _, ok := g.conds[name]; !ok {
					g.order = append(g.order, name)
				}
				g.conds[name] = append(g.conds[name], sets...)
			}
		}
	}
	pol := &seccompbpf.Policy{DefaultAction: def}
	for _, g := range groups {
		sg := seccompbpf.SyscallGroup{Action: g.action, Names: g.plain}
		for _, name := range g.order {
			for _, set := range g.conds[name] {
				sg.NamesWithCondtions = append(sg.NamesWithCondtions, seccompbpf.NameWithConditions{Name: name, Conditions: set})
			}
		}
		pol.Syscalls = append(pol.Syscalls, sg)
	}
	if _, err := pol.Assemble(); err != nil {
		return nil, nil, err
	}
	return pol, tr, nil
}

// archSeccompName is libseccomp's name for info's architecture (X86_64,
// AARCH64, ...), as the profile spells it after SCMP_ARCH_.
func archSeccompName(info *arch.Info) string {
	switch info.Name {
	case "x86_64":
		return "X86_64"
	case "i386":
		return "X86"
	case "aarch64":
		return "AARCH64"
	}
	return strings.ToUpper(info.Name)
}

// action is the filter's return for an OCI action and its errno.
func action(a specs.LinuxSeccompAction, errno *uint) (seccompbpf.Action, error) {
	switch a {
	case specs.ActAllow:
		return seccompbpf.ActionAllow, nil
	case specs.ActErrno:
		// go-seccomp-bpf turns a bare ActionErrno into ERRNO(EPERM), runc's
		// default too; any other errno rides in the action's data bits.
		if errno == nil || *errno == uint(unix.EPERM) {
			return seccompbpf.ActionErrno, nil
		}
		return seccompbpf.ActionErrno | seccompbpf.Action(*errno&0xffff), nil
	case specs.ActKillThread, specs.ActKill:
		return seccompbpf.ActionKillThread, nil
	case specs.ActKillProcess:
		return seccompbpf.ActionKillProcess, nil
	case specs.ActTrap:
		return seccompbpf.ActionTrap, nil
	case specs.ActLog:
		return seccompbpf.ActionLog, nil
	case specs.ActTrace:
		return seccompbpf.ActionTrace | seccompbpf.Action(unix.EPERM), nil
	}
	return 0, fmt.Errorf("action %v has no go-seccomp-bpf equivalent", a)
}

func isNamed(a seccompbpf.Action) bool {
	switch a {
	case seccompbpf.ActionAllow, seccompbpf.ActionErrno, seccompbpf.ActionKillThread,
		seccompbpf.ActionKillProcess, seccompbpf.ActionTrap, seccompbpf.ActionLog, seccompbpf.ActionTrace:
		return true
	}
	return false
}

// conditionSets turns one rule's argument comparisons into the condition
// sets that go-seccomp-bpf ORs: none for an unconditional rule; one set
// (ANDed) for comparisons of distinct arguments; and, as runc does, a set
// of its own for each comparison of an argument compared more than once.
func conditionSets(args []specs.LinuxSeccompArg) ([]seccompbpf.ArgumentConditions, error) {
	if len(args) == 0 {
		return nil, nil
	}
	count := map[uint]int{}
	for _, a := range args {
		count[a.Index]++
	}
	var sets []seccompbpf.ArgumentConditions
	var and seccompbpf.ArgumentConditions
	for _, a := range args {
		c, err := condition(a)
		if err != nil {
			return nil, err
		}
		if count[a.Index] > 1 {
			sets = append(sets, seccompbpf.ArgumentConditions{c})
		} else {
			and = append(and, c)
		}
	}
	if len(and) > 0 {
		sets = append(sets, and)
	}
	return sets, nil
}

func condition(a specs.LinuxSeccompArg) (seccompbpf.Condition, error) {
	c := seccompbpf.Condition{Argument: uint32(a.Index), Value: a.Value}
	switch a.Op {
	case specs.OpEqualTo:
		c.Operation = seccompbpf.Equal
	case specs.OpNotEqual:
		c.Operation = seccompbpf.NotEqual
	case specs.OpGreaterThan:
		c.Operation = seccompbpf.GreaterThan
	case specs.OpGreaterEqual:
		c.Operation = seccompbpf.GreaterOrEqual
	case specs.OpLessThan:
		c.Operation = seccompbpf.LessThan
	case specs.OpLessEqual:
		c.Operation = seccompbpf.LessOrEqual
	case specs.OpMaskedEqual:
		// (arg & Value) == ValueTwo. With ValueTwo 0 that is "none of
		// Value's bits set", which BitsNotSet tests; go-seccomp-bpf has no
		// general masked compare.
		if a.ValueTwo != 0 {
			return c, fmt.Errorf("SCMP_CMP_MASKED_EQ with a non-zero value %#x has no go-seccomp-bpf equivalent", a.ValueTwo)
		}
		c.Operation = seccompbpf.BitsNotSet
	default:
		return c, fmt.Errorf("comparison %v has no go-seccomp-bpf equivalent", a.Op)
	}
	return c, nil
}
