module github.com/kaio-go/kaio

go 1.26.8

require (
	github.com/HdrHistogram/hdrhistogram-go v1.1.2
	golang.org/x/sys v0.50.0
)

require go.uber.org/goleak v1.3.0 // indirect
