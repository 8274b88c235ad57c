package lock_test

import (
	"sync"
	"testing"

	"github.com/kaio-go/kaio/internal/lock"
)

// The Sched hook costs one nil check: compare lock.Mutex with no explorer
// against sync.Mutex (go test -bench . ./internal/lock, then benchstat).

func BenchmarkMutex(b *testing.B) {
	b.ReportAllocs()
	var m lock.Mutex
	for b.Loop() {
		m.Lock()
		//lint:ignore SA2001 the cost of the lock itself is measured
		m.Unlock()
	}
}

func BenchmarkSyncMutex(b *testing.B) {
	b.ReportAllocs()
	var m sync.Mutex
	for b.Loop() {
		m.Lock()
		//lint:ignore SA2001 the cost of the lock itself is measured
		m.Unlock()
	}
}

func BenchmarkMutexParallel(b *testing.B) {
	b.ReportAllocs()
	var m lock.Mutex
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Lock()
			//lint:ignore SA2001 the cost of the lock itself is measured
			m.Unlock()
		}
	})
}

func BenchmarkSyncMutexParallel(b *testing.B) {
	b.ReportAllocs()
	var m sync.Mutex
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Lock()
			//lint:ignore SA2001 the cost of the lock itself is measured
			m.Unlock()
		}
	})
}

func BenchmarkNote(b *testing.B) {
	b.ReportAllocs()
	var n lock.Note
	n.Init()
	for b.Loop() {
		n.Wakeup()
		n.Sleep()
	}
}

func TestNoteRemembersOneWakeup(t *testing.T) {
	var n lock.Note
	n.Init()
	n.Wakeup()
	n.Wakeup() // not remembered twice
	n.Sleep()
	done := make(chan struct{})
	go func() { n.Sleep(); close(done) }()
	select {
	case <-done:
		t.Fatal("a second Sleep returned without a Wakeup")
	default:
	}
	n.Wakeup()
	<-done
}
