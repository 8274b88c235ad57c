//go:build linux

package kaio_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/kaio-go/kaio"
)

// TestNewFileOutlivesTheOSFile: the caller closes the *os.File it gave
// NewFile (which the doc says not to use any more) and the next open gets
// the same descriptor number. The File's calls still act on the file it
// was made of, as a request owns its file: never on the file that reused
// the number.
func TestNewFileOutlivesTheOSFile(t *testing.T) {
	onEachEngine(t, 8, func(t *testing.T, c *kaio.Context) {
		dir := t.TempDir()
		a := bytes.Repeat([]byte{'a'}, 4096)
		b := bytes.Repeat([]byte{'b'}, 4096)
		pa, pb := filepath.Join(dir, "a"), filepath.Join(dir, "b")
		if err := os.WriteFile(pa, a, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(pb, b, 0o600); err != nil {
			t.Fatal(err)
		}
		osf, err := os.OpenFile(pa, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		kf, err := kaio.NewFile(osf, kaio.OnContext(c))
		if err != nil {
			t.Fatal(err)
		}
		defer kf.Close()
		fd := osf.Fd()
		osf.Close() // against the doc: the File's descriptor must not go with it
		other, err := os.OpenFile(pb, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		if other.Fd() != fd {
			t.Logf("the next open got descriptor %d, not %d: the check below holds either way", other.Fd(), fd)
		}
		got := make([]byte, 4096)
		n, err := kf.ReadAt(got, 0)
		if err != nil || !bytes.Equal(got[:n], a) {
			t.Fatalf("ReadAt after the os.File was closed: %d, %v, data %q...; want a's 4096 bytes", n, err, got[:8])
		}
		if n, err := kf.WriteAt([]byte("A"), 0); n != 1 || err != nil {
			t.Fatalf("WriteAt: %d, %v", n, err)
		}
		if data, _ := os.ReadFile(pb); !bytes.Equal(data, b) {
			t.Fatalf("the file that reused the descriptor was written: %q...", data[:8])
		}
		if data, _ := os.ReadFile(pa); data[0] != 'A' {
			t.Fatalf("the File's own file was not written: %q...", data[:8])
		}
	})
}
