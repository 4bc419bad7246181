//go:build !linux

package s3test

import "os/exec"

// setDeathSignal does nothing where there is no parent-death signal: a
// test process killed before its cleanups leaves the server running.
func setDeathSignal(*exec.Cmd) {}
