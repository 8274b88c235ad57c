//go:build !linux

package kaio

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestFileHere: where kaio has no engine, a File is its os.File: reads,
// writes, EOF, *os.PathError, Close and os.ErrClosed as os.File has them;
// a context that has ended is refused before the call; OnContext is
// refused with errors.ErrUnsupported.
func TestFileHere(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if _, err := Open(p); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Open of a missing file: %v", err)
	}
	f, err := OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	want := []byte("hello, file")
	if n, err := f.WriteAt(want, 3); n != len(want) || err != nil {
		t.Fatalf("WriteAt: %d, %v", n, err)
	}
	got := make([]byte, len(want)+5)
	if n, err := f.ReadAt(got, 3); n != len(want) || err != io.EOF || !bytes.Equal(got[:n], want) {
		t.Fatalf("ReadAt past the end: %d, %v, %q", n, err, got[:n])
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.ReadAtContext(ctx, got, 0); err != context.Canceled {
		t.Fatalf("ReadAtContext with an ended context: %v", err)
	}
	if err := f.Datasync(); err != nil {
		t.Fatalf("Datasync: %v", err)
	}
	if f.Name() != p || f.Fd() == ^uintptr(0) {
		t.Fatalf("Name %q, Fd %#x", f.Name(), f.Fd())
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	var pe *os.PathError
	if _, err := f.ReadAt(got, 0); !errors.Is(err, os.ErrClosed) || !errors.As(err, &pe) {
		t.Fatalf("ReadAt after Close: %v", err)
	}
	if f.Fd() != ^uintptr(0) {
		t.Fatalf("Fd after Close: %#x", f.Fd())
	}
	if _, err := OpenFile(p, os.O_RDONLY, 0, OnContext(&Context{})); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("OnContext here: %v, want errors.ErrUnsupported", err)
	}
}
