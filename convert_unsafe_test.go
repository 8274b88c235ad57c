//go:build linux

package kaio

import (
	"reflect"
	"testing"
	"unsafe"

	"github.com/kaio-go/kaio/internal/core"
)

// sameLayout fails unless a and b, two struct types, have the same fields
// (by name, unexported ones too) at the same offsets with the same sizes
// and kinds, and the same size and alignment: what the pointer conversions
// of convert_unsafe.go rely on.
func sameLayout(t *testing.T, a, b reflect.Type) {
	t.Helper()
	if a.Size() != b.Size() || a.Align() != b.Align() || a.NumField() != b.NumField() {
		t.Fatalf("%v: size %d align %d fields %d; %v: size %d align %d fields %d",
			a, a.Size(), a.Align(), a.NumField(), b, b.Size(), b.Align(), b.NumField())
	}
	for j := range a.NumField() {
		fa, fb := a.Field(j), b.Field(j)
		if fa.Name != fb.Name || fa.Offset != fb.Offset || fa.Type.Size() != fb.Type.Size() || fa.Type.Kind() != fb.Type.Kind() {
			t.Errorf("field %d: %v.%s %v at %d (%d bytes); %v.%s %v at %d (%d bytes)",
				j, a, fa.Name, fa.Type, fa.Offset, fa.Type.Size(), b, fb.Name, fb.Type, fb.Offset, fb.Type.Size())
		}
	}
}

// TestIocbLayout: kaio.Iocb is core.Iocb, field for field, so that a
// *kaio.Iocb is handed to an engine as it is.
func TestIocbLayout(t *testing.T) {
	sameLayout(t, reflect.TypeFor[Iocb](), reflect.TypeFor[core.Iocb]())
	var i Iocb
	var c core.Iocb
	for _, f := range []struct {
		name       string
		off, coff  uintptr
		size, csiz uintptr
	}{
		{"Data", unsafe.Offsetof(i.Data), unsafe.Offsetof(c.Data), unsafe.Sizeof(i.Data), unsafe.Sizeof(c.Data)},
		{"Op", unsafe.Offsetof(i.Op), unsafe.Offsetof(c.Op), unsafe.Sizeof(i.Op), unsafe.Sizeof(c.Op)},
		{"Fd", unsafe.Offsetof(i.Fd), unsafe.Offsetof(c.Fd), unsafe.Sizeof(i.Fd), unsafe.Sizeof(c.Fd)},
		{"Buf", unsafe.Offsetof(i.Buf), unsafe.Offsetof(c.Buf), unsafe.Sizeof(i.Buf), unsafe.Sizeof(c.Buf)},
		{"Iov", unsafe.Offsetof(i.Iov), unsafe.Offsetof(c.Iov), unsafe.Sizeof(i.Iov), unsafe.Sizeof(c.Iov)},
		{"Offset", unsafe.Offsetof(i.Offset), unsafe.Offsetof(c.Offset), unsafe.Sizeof(i.Offset), unsafe.Sizeof(c.Offset)},
		{"RWFlags", unsafe.Offsetof(i.RWFlags), unsafe.Offsetof(c.RWFlags), unsafe.Sizeof(i.RWFlags), unsafe.Sizeof(c.RWFlags)},
		{"Events", unsafe.Offsetof(i.Events), unsafe.Offsetof(c.Events), unsafe.Sizeof(i.Events), unsafe.Sizeof(c.Events)},
		{"ResFd", unsafe.Offsetof(i.ResFd), unsafe.Offsetof(c.ResFd), unsafe.Sizeof(i.ResFd), unsafe.Sizeof(c.ResFd)},
		{"Flags", unsafe.Offsetof(i.Flags), unsafe.Offsetof(c.Flags), unsafe.Sizeof(i.Flags), unsafe.Sizeof(c.Flags)},
		{"claim", unsafe.Offsetof(i.claim), core.IocbClaimOffset, unsafe.Sizeof(i.claim), core.IocbClaimSize},
	} {
		if f.off != f.coff || f.size != f.csiz {
			t.Errorf("Iocb.%s at %d (%d bytes), core.Iocb.%s at %d (%d bytes)", f.name, f.off, f.size, f.name, f.coff, f.csiz)
		}
	}
	if unsafe.Sizeof(i) != unsafe.Sizeof(c) {
		t.Errorf("Iocb is %d bytes, core.Iocb %d", unsafe.Sizeof(i), unsafe.Sizeof(c))
	}
}

// TestEventLayout: kaio.Event is core.Event, so that GetEvents fills the
// caller's slice directly.
func TestEventLayout(t *testing.T) {
	sameLayout(t, reflect.TypeFor[Event](), reflect.TypeFor[core.Event]())
	var e Event
	var c core.Event
	for _, f := range []struct {
		name       string
		off, coff  uintptr
		size, csiz uintptr
	}{
		{"Data", unsafe.Offsetof(e.Data), unsafe.Offsetof(c.Data), unsafe.Sizeof(e.Data), unsafe.Sizeof(c.Data)},
		{"Obj", unsafe.Offsetof(e.Obj), unsafe.Offsetof(c.Obj), unsafe.Sizeof(e.Obj), unsafe.Sizeof(c.Obj)},
		{"Res", unsafe.Offsetof(e.Res), unsafe.Offsetof(c.Res), unsafe.Sizeof(e.Res), unsafe.Sizeof(c.Res)},
		{"Res2", unsafe.Offsetof(e.Res2), unsafe.Offsetof(c.Res2), unsafe.Sizeof(e.Res2), unsafe.Sizeof(c.Res2)},
	} {
		if f.off != f.coff || f.size != f.csiz {
			t.Errorf("Event.%s at %d (%d bytes), core.Event.%s at %d (%d bytes)", f.name, f.off, f.size, f.name, f.coff, f.csiz)
		}
	}
}

// TestConversionsShareMemory: what an engine writes through the converted
// pointers is what the caller sees in its own Iocb and Event values, and
// the claim an engine puts on a core.Iocb is the one on the caller's Iocb.
func TestConversionsShareMemory(t *testing.T) {
	i := &Iocb{Data: 7, Op: OpPWritev, Fd: 3, Buf: []byte("b"), Iov: [][]byte{[]byte("v")}, Offset: 1 << 40, RWFlags: 2, Events: 4, ResFd: 5, Flags: FlagResFd}
	ci := coreIocb(i)
	if ci.Data != 7 || ci.Op != core.OpPWritev || ci.Fd != 3 || string(ci.Buf) != "b" || string(ci.Iov[0]) != "v" ||
		ci.Offset != 1<<40 || ci.RWFlags != 2 || ci.Events != 4 || ci.ResFd != 5 || ci.Flags != core.FlagResFd {
		t.Fatalf("core view of %+v: %+v", *i, *ci)
	}
	if FlagFixedFile != core.FlagFixedFile {
		t.Fatalf("FlagFixedFile %#x, the engines' %#x", FlagFixedFile, core.FlagFixedFile)
	}
	cl := &core.Claim{Index: 1}
	if !ci.Take(cl) || i.claim == nil || unsafe.Pointer(i.claim) != unsafe.Pointer(cl) {
		t.Fatalf("claim taken through the core view: %p, want %p", i.claim, cl)
	}
	ci.Release(cl)
	if i.claim != nil {
		t.Fatalf("claim still set after Release: %p", i.claim)
	}
	if cs := coreIocbs([]*Iocb{i, nil}); len(cs) != 2 || cs[0] != ci || cs[1] != nil {
		t.Fatalf("coreIocbs: %v", cs)
	}
	evs := make([]Event, 2)
	ce := coreEvents(evs)
	ce[1] = core.Event{Data: 9, Obj: ci, Res: -125, Res2: 1}
	if evs[1].Data != 9 || evs[1].Obj != i || evs[1].Res != -125 || evs[1].Res2 != 1 {
		t.Fatalf("event written by the engine reads %+v", evs[1])
	}
	if ev := fromCoreEvent(ce[1]); ev != evs[1] {
		t.Fatalf("fromCoreEvent: %+v, want %+v", ev, evs[1])
	}
}
