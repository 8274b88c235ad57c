//go:build linux

package kaio_test

import "unsafe"

// bufAddr is the address of b's first byte.
func bufAddr(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }
