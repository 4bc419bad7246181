package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/sluice-dev/sluice/internal/launch"
)

// cpCmd copies SRC to DST with mode 0755, atomically: DST is either absent
// or whole, so a step container that starts early never runs half a
// binary.
func cpCmd(args []string) error {
	if len(args) != 2 {
		return usageError("cp: want SRC DST")
	}
	if err := copyFile(args[0], args[1]); err != nil {
		return &launch.Error{Code: launch.ExitOutputs, Err: fmt.Errorf("cp: %w", err)}
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	dir := filepath.Dir(dst)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	out, err := os.CreateTemp(dir, "."+filepath.Base(dst)+".tmp-*")
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Chmod(0o755)
	}
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(out.Name(), dst)
	}
	if err != nil {
		os.Remove(out.Name())
	}
	return err
}
