//go:build linux

package core

import (
	"context"
	"errors"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestCheckMinNr(t *testing.T) {
	evs := make([]Event, 4)
	for _, tc := range []struct {
		minNr int
		want  error
	}{{-1, unix.EINVAL}, {0, nil}, {4, nil}, {5, unix.EINVAL}} {
		if err := CheckMinNr(tc.minNr, evs); err != tc.want {
			t.Errorf("CheckMinNr(%d, 4 events) = %v, want %v", tc.minNr, err, tc.want)
		}
	}
}

func TestNoWait(t *testing.T) {
	done, cancel := context.WithCancel(context.Background())
	cancel()
	live := context.Background()
	for _, tc := range []struct {
		name     string
		ctx      context.Context
		n, minNr int
		timeout  int64
		now      bool
		err      error
	}{
		{"enough", done, 2, 2, -1, true, nil},
		{"poll", nil, 0, 1, 0, true, nil},
		{"wait forever", nil, 0, 1, -1, false, nil},
		{"wait for a live ctx", live, 1, 2, 5, false, nil},
		{"ctx done, some events", done, 1, 2, -1, true, nil},
		{"ctx done, none", done, 0, 2, -1, true, context.Canceled},
	} {
		now, err := NoWait(tc.ctx, tc.n, tc.minNr, time.Duration(tc.timeout))
		if now != tc.now || !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
			t.Errorf("%s: NoWait = %v, %v; want %v, %v", tc.name, now, err, tc.now, tc.err)
		}
	}
}

func TestWaitResult(t *testing.T) {
	for _, tc := range []struct {
		n    int
		dead bool
		err  error
		want int
		werr error
	}{
		{3, true, context.Canceled, 0, unix.EINVAL},
		{3, false, context.Canceled, 3, nil},
		{0, true, context.Canceled, 0, unix.EINVAL},
		{0, false, context.Canceled, 0, context.Canceled},
		{0, false, nil, 0, nil},
	} {
		if n, err := WaitResult(tc.n, tc.dead, tc.err); n != tc.want || err != tc.werr {
			t.Errorf("WaitResult(%d, %v, %v) = %d, %v; want %d, %v", tc.n, tc.dead, tc.err, n, err, tc.want, tc.werr)
		}
	}
	//lint:ignore SA1012 a nil ctx is what is tested: Backend.GetEvents allows it
	if CtxErr(nil) != nil {
		t.Error("CtxErr(nil) != nil")
	}
}
