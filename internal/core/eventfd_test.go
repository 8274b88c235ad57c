//go:build linux

package core

import (
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"
)

func TestSignalEventfd(t *testing.T) {
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(efd)
	SignalEventfd(efd)
	SignalEventfd(efd)
	var b [8]byte
	if n, err := unix.Read(efd, b[:]); n != 8 || err != nil || binary.NativeEndian.Uint64(b[:]) != 2 {
		t.Fatalf("eventfd after two signals: %d bytes, %v, counter %d; want 2", n, err, binary.NativeEndian.Uint64(b[:]))
	}
}
