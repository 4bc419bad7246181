package argo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"
)

// Where Argo puts things in the plugin's sidecar.
const (
	// DefaultAddr is where the plugin listens: the agent calls
	// http://localhost:PORT, PORT being the sidecar's first container
	// port (workflow/controller/agent.go), so nothing needs to listen
	// beyond the pod's loopback. 4355 is the port of Argo's own examples.
	DefaultAddr = "127.0.0.1:4355"
	// DefaultTokenFile is the agent's token as the sidecar sees it: the
	// agent's init container writes /var/run/argo/NAME/token and the
	// controller mounts NAME's directory at /var/run/argo in the sidecar
	// named NAME.
	DefaultTokenFile = "/var/run/argo/token"
)

// ShutdownGrace is how long requests in flight get to finish once the
// server is told to stop.
const ShutdownGrace = 25 * time.Second

// ReadToken reads the agent's token from its file.
func ReadToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read the agent's token: %w", err)
	}
	if len(b) == 0 {
		return "", fmt.Errorf("read the agent's token: %s is empty", path)
	}
	// Exactly as the agent sends it (cmd/argoexec/commands/agent.go
	// reads the same file without trimming).
	return string(b), nil
}

// Serve serves h on ln until ctx ends, then shuts down gracefully:
// the listener closes at once and requests in flight get ShutdownGrace
// to finish. It returns nil after a shutdown that ctx asked for.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       timeout,
		WriteTimeout:      timeout + 10*time.Second,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("shut down %s: %w", ln.Addr(), err)
	}
	return nil
}
