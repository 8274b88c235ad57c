//go:build linux

// Package core holds the types that the public kaio package and every engine
// share: the iocb a user submits, the event it yields, the counters, and the
// Backend interface each engine implements. The kaio package re-exports them
// under their public names; engines import this package so that they do not
// import kaio (which imports them).
package core
