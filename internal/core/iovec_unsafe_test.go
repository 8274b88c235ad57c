//go:build linux

package core

import (
	"runtime"
	"testing"
	"unsafe"
)

// TestAppendIovecs: skip runs across buffers, empty and fully skipped
// buffers yield no iovec, and the rest point into the user's buffers.
func TestAppendIovecs(t *testing.T) {
	a, b, c := make([]byte, 3), []byte{}, make([]byte, 5)
	for _, tc := range []struct {
		skip int64
		want [][]byte // what the iovecs must cover
	}{
		{0, [][]byte{a, c}},
		{2, [][]byte{a[2:], c}},
		{3, [][]byte{c}},
		{4, [][]byte{c[1:]}},
		{8, nil},
	} {
		var pin runtime.Pinner
		iov := AppendIovecs(nil, tc.skip, &pin, a, b, c)
		pin.Unpin()
		if len(iov) != len(tc.want) {
			t.Fatalf("skip %d: %d iovecs, want %d", tc.skip, len(iov), len(tc.want))
		}
		for j, w := range tc.want {
			if iov[j].Base != unsafe.SliceData(w) || uint64(iov[j].Len) != uint64(len(w)) {
				t.Errorf("skip %d: iovec %d = %p+%d, want %p+%d", tc.skip, j, iov[j].Base, iov[j].Len, unsafe.SliceData(w), len(w))
			}
		}
	}
}
