//go:build linux

package fsx

import (
	"bytes"
	"errors"
	"testing"

	"github.com/kaio-go/kaio"
	"golang.org/x/sys/unix"
)

// TestKaioRefusalSaysWhy: an iocb that kaio refuses is reported with
// kaio's words for it, which name the iocb's fault, not only the errno.
func TestKaioRefusalSaysWhy(t *testing.T) {
	var stderr bytes.Buffer
	p, err := newKaioPath(kaio.EngineRetry, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	if _, err := p.read(-1, make([]byte, 8), 0, 0); !errors.Is(err, unix.EBADF) {
		t.Fatalf("read of fd -1: %v, want EBADF", err)
	}
	if want := "fsx: pread on engine retry: kaio: Submit: iocbs[0] refused: fd -1 not open (EBADF)\n"; stderr.String() != want {
		t.Fatalf("stderr %q, want %q", stderr.String(), want)
	}
}
