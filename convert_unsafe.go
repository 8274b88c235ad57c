//go:build linux

package kaio

import (
	"unsafe"

	"github.com/kaio-go/kaio/internal/core"
)

// Iocb and Event are declared in this package, for go doc, and in
// internal/core, for the engines, with one layout (TestIocbLayout and
// TestEventLayout check it field by field). A pointer to one is therefore
// a pointer to the other: the conversions below cost nothing, and the
// engine works on the caller's own iocbs, claim field included.

func coreIocb(i *Iocb) *core.Iocb { return (*core.Iocb)(unsafe.Pointer(i)) }

func coreIocbs(iocbs []*Iocb) []*core.Iocb {
	return unsafe.Slice((**core.Iocb)(unsafe.Pointer(unsafe.SliceData(iocbs))), len(iocbs))
}

func coreEvents(events []Event) []core.Event {
	return unsafe.Slice((*core.Event)(unsafe.Pointer(unsafe.SliceData(events))), len(events))
}

func fromCoreEvent(ev core.Event) Event { return *(*Event)(unsafe.Pointer(&ev)) }
