package main

import (
	"bytes"
	"context"
	"io"
	"sync"
	"testing"
	"time"
)

// served is a long-running sluice command (a cache plugin's server)
// started in the background by serve.
type served struct {
	Stderr *syncBuffer
	cancel context.CancelFunc
	exited chan int
}

// serve runs sluice with args until stop is called or the test ends.
func serve(t *testing.T, args ...string) *served {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &served{Stderr: &syncBuffer{}, cancel: cancel, exited: make(chan int, 1)}
	go func() { s.exited <- execute(ctx, args, io.Discard, s.Stderr) }()
	t.Cleanup(cancel)
	return s
}

// stop stops the command as SIGTERM would, and checks that it exits 0
// promptly.
func (s *served) stop(t *testing.T) {
	t.Helper()
	s.cancel()
	select {
	case code := <-s.exited:
		if code != exitOK {
			t.Errorf("exit code %d after the shutdown, want 0; stderr:\n%s", code, s.Stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("it did not stop")
	}
}

// syncBuffer is a bytes.Buffer that a command writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
