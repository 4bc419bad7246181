package step

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// Cmd is one process to run for a task.
type Cmd struct {
	Image  string
	Argv   []string
	Env    []string // KEY=VALUE, exactly what the process sees
	Dir    string   // working directory as the process sees it
	Root   string   // the task's scratch directory on the host
	Stdout io.Writer
	Stderr io.Writer
}

// Executor runs a task's command somewhere: on the host, or in a container.
type Executor interface {
	// Path maps a host path under root to the path the command sees.
	Path(root, host string) string
	// Env is the environment every command starts from, before the
	// variables the step declares.
	Env(root string) []string
	// Run runs the command to completion and returns its exit code. When
	// ctx ends, the whole process group is stopped.
	Run(ctx context.Context, c *Cmd) (int, error)
}

// Grace is how long a stopped command gets between SIGTERM and SIGKILL.
var Grace = 5 * time.Second

// Process runs commands on the host, image ignored, each in its own
// process group so that a timeout stops everything it started.
type Process struct{}

var _ Executor = Process{}

// Path is the identity: the command sees host paths.
func (Process) Path(_, host string) string { return host }

// Env passes PATH and HOME through, and points TMPDIR at the task's
// working directory: nothing else of the host's environment leaks in.
func (Process) Env(root string) []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TMPDIR=" + filepath.Join(root, "work")}
}

// Run starts the command in a new process group and waits for it.
func (Process) Run(ctx context.Context, c *Cmd) (int, error) {
	if len(c.Argv) == 0 {
		return -1, errors.New("empty command")
	}
	path := c.Argv[0]
	if !strings.Contains(path, "/") {
		p, err := lookPath(path, c.Env)
		if err != nil {
			return 127, err
		}
		path = p
	}
	cmd := &exec.Cmd{
		Path:        path,
		Args:        c.Argv,
		Env:         c.Env,
		Dir:         c.Dir,
		Stdout:      c.Stdout,
		Stderr:      c.Stderr,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true},
	}
	if err := cmd.Start(); err != nil {
		return 127, err
	}
	pgid := cmd.Process.Pid
	done := make(chan struct{})
	go func() {
		select {
		case <-done:
			return
		case <-ctx.Done():
		}
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(Grace):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
		}
	}()
	err := cmd.Wait()
	close(done)
	// Whatever the command left running in its group goes with it.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	if ctx.Err() != nil {
		return exitCode(cmd.ProcessState), ctx.Err()
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return -1, err
	}
	return exitCode(cmd.ProcessState), nil
}

func exitCode(ps *os.ProcessState) int {
	if ps == nil {
		return -1
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// lookPath finds a command in the PATH the step will see.
func lookPath(name string, env []string) (string, error) {
	dirs := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			dirs = v
		}
	}
	for _, dir := range filepath.SplitList(dirs) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: command not found in PATH", name)
}

// Container runs commands in an image with a Docker-compatible CLI (docker
// or podman). The task's scratch directory is mounted at /sluice.
type Container struct {
	CLI string // "docker" or "podman"
}

var _ Executor = Container{}

// ContainerRoot is where the task's scratch directory appears in the container.
const ContainerRoot = "/sluice"

// Available reports whether the CLI can reach its engine, and why not.
func (c Container) Available(ctx context.Context) error {
	out, err := exec.CommandContext(ctx, c.CLI, "info").CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s info: %v: %s", c.CLI, err, strings.TrimSpace(lastLine(string(out))))
	}
	return nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// Path maps root/x to /sluice/x.
func (Container) Path(root, host string) string {
	rel, err := filepath.Rel(root, host)
	if err != nil || strings.HasPrefix(rel, "..") {
		return host
	}
	return filepath.ToSlash(filepath.Join(ContainerRoot, rel))
}

// Env is empty: the image's own environment applies.
func (Container) Env(string) []string { return nil }

// Run runs the command with `CLI run --rm`; a stop kills the container.
func (c Container) Run(ctx context.Context, cmd *Cmd) (int, error) {
	name := fmt.Sprintf("sluice-%d-%d", os.Getpid(), time.Now().UnixNano())
	args := []string{"run", "--rm", "--name", name, "-v", cmd.Root + ":" + ContainerRoot, "--entrypoint", cmd.Argv[0]}
	if cmd.Dir != "" {
		args = append(args, "-w", cmd.Dir)
	}
	for _, kv := range cmd.Env {
		args = append(args, "-e", kv)
	}
	args = append(args, cmd.Image)
	args = append(args, cmd.Argv[1:]...)
	x := exec.Command(c.CLI, args...)
	x.Stdout, x.Stderr = cmd.Stdout, cmd.Stderr
	if err := x.Start(); err != nil {
		return 127, err
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-done:
		case <-ctx.Done():
			_ = exec.Command(c.CLI, "kill", name).Run()
		}
	}()
	err := x.Wait()
	close(done)
	if ctx.Err() != nil {
		return exitCode(x.ProcessState), ctx.Err()
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return -1, err
	}
	return exitCode(x.ProcessState), nil
}

// executors is the registry of executors by the name --executor takes.
var executors = map[string]Executor{
	"process": Process{},
	"docker":  Container{CLI: "docker"},
	"podman":  Container{CLI: "podman"},
}

// ExecutorNames lists the registered executors, sorted.
func ExecutorNames() []string {
	names := make([]string, 0, len(executors))
	for n := range executors {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// NewExecutor returns the executor registered under name.
func NewExecutor(name string) (Executor, error) {
	e, ok := executors[name]
	if !ok {
		return nil, fmt.Errorf("unknown executor %q: use one of %s", name, strings.Join(ExecutorNames(), ", "))
	}
	return e, nil
}
