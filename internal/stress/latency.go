//go:build linux

package stress

import (
	"fmt"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// deviations are the classic's latency buckets, in milliseconds.
var deviations = [...]float64{100, 250, 500, 1000, 5000, 10000}

// latency is one kind of latency over a stage: the classic's min, avg, max
// and buckets, plus an HdrHistogram for percentiles. Recording allocates
// nothing.
type latency struct {
	min, max, total float64 // ms
	n               int64
	buckets         [len(deviations)]int64
	hist            *hdrhistogram.Histogram // ns
}

// histMax is the largest latency the histograms track: an hour, far past
// any I/O that is not hung.
const histMax = int64(3600e9)

func newLatency() *latency {
	return &latency{hist: hdrhistogram.New(1, histMax, 3)}
}

// record adds one latency of ns nanoseconds.
func (l *latency) record(ns int64) {
	if ns < 1 {
		ns = 1
	}
	ms := float64(ns) / 1e6
	if ms > l.max {
		l.max = ms
	}
	if l.n == 0 || ms < l.min {
		l.min = ms
	}
	l.n++
	l.total += ms
	for i, d := range deviations {
		if ms < d {
			l.buckets[i]++
			break
		}
	}
	if ns > histMax {
		ns = histMax
	}
	_ = l.hist.RecordValue(ns) // cannot fail: ns is in range
}

func (l *latency) reset() {
	h := l.hist
	h.Reset()
	*l = latency{hist: h}
}

// merge adds o into l (the stage's totals over threads).
func (l *latency) merge(o *latency) {
	if o.n == 0 {
		return
	}
	if l.n == 0 || o.min < l.min {
		l.min = o.min
	}
	l.max = max(l.max, o.max)
	l.n += o.n
	l.total += o.total
	for i := range l.buckets {
		l.buckets[i] += o.buckets[i]
	}
	l.hist.Merge(o.hist)
}

// print writes the classic's two lines ("%s min %.2f avg %.2f max %.2f",
// then the bucket counts) and kaio's percentile line. The classic prints
// "-nan" for the average of nothing; this prints 0.00.
func (l *latency) print(o *output, name string) {
	avg := 0.0
	if l.n > 0 {
		avg = l.total / float64(l.n)
	}
	line := fmt.Sprintf("%s min %.2f avg %.2f max %.2f\n\t", name, l.min, avg, l.max)
	var counted int64
	for i, d := range deviations {
		line += fmt.Sprintf(" %d < %.0f", l.buckets[i], d)
		counted += l.buckets[i]
	}
	if counted != 0 && l.n-counted != 0 {
		line += fmt.Sprintf(" < %d", l.n-counted)
	}
	s := l.summary()
	line += fmt.Sprintf("\n%s p50 %.3f p99 %.3f p99.9 %.3f max %.3f\n", name, s.P50, s.P99, s.P999, s.Max)
	o.printf("%s", line)
}

// LatencySummary is one latency distribution of a stage, in milliseconds.
type LatencySummary struct {
	Count int64   `json:"count"`
	Min   float64 `json:"min_ms"`
	Mean  float64 `json:"mean_ms"`
	P50   float64 `json:"p50_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p99_9_ms"`
	Max   float64 `json:"max_ms"`
}

func (l *latency) summary() LatencySummary {
	if l.n == 0 {
		return LatencySummary{}
	}
	ms := func(ns int64) float64 { return float64(ns) / 1e6 }
	return LatencySummary{
		Count: l.n,
		Min:   l.min,
		Mean:  l.total / float64(l.n),
		P50:   ms(l.hist.ValueAtQuantile(50)),
		P99:   ms(l.hist.ValueAtQuantile(99)),
		P999:  ms(l.hist.ValueAtQuantile(99.9)),
		Max:   l.max,
	}
}
