package s3test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// EnvServer names the environment variable holding the path of the
// versitygw binary.
const EnvServer = "SLUICE_S3_SERVER"

// The root credentials the server is started with.
const (
	AccessKey = "sluice-test"
	SecretKey = "sluice-test-secret"
)

// startTimeout bounds how long the server may take to answer.
const startTimeout = 15 * time.Second

// Server is a running S3 server. Its methods may be called from several
// goroutines.
type Server struct {
	// Endpoint is the server's address, 127.0.0.1:port; it speaks plain
	// HTTP.
	Endpoint string

	bin     string
	dataDir string
	metaDir string
	log     *syncBuffer // the server's stdout and stderr, for failures

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has exited
}

var buckets atomic.Int64

// Start starts a server for the test with an empty data directory, waits
// until it answers, and kills it when the test ends, whether it passes,
// fails or panics. Without $SLUICE_S3_SERVER it skips the test.
func Start(tb testing.TB) *Server {
	tb.Helper()
	bin := os.Getenv(EnvServer)
	if bin == "" {
		tb.Skipf("set %s to an S3 server binary to run this test: export %s=$(hack/s3-server.sh)", EnvServer, EnvServer)
	}
	dir := tb.TempDir()
	s := &Server{
		bin:     bin,
		dataDir: filepath.Join(dir, "data"),
		metaDir: filepath.Join(dir, "meta"),
		log:     new(syncBuffer),
	}
	for _, d := range []string{s.dataDir, s.metaDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	// Registered after TempDir, so it runs before the directory goes.
	tb.Cleanup(func() {
		s.Stop()
		if tb.Failed() {
			tb.Logf("s3 server log:\n%s", s.log)
		}
	})
	// Another process may take the free port between our finding it
	// and the server binding it; then the server exits and we try again.
	var err error
	for range 3 {
		s.Endpoint, err = freePort()
		if err != nil {
			tb.Fatalf("s3 server: %v", err)
		}
		if err = s.start(); err == nil {
			return s
		}
	}
	tb.Fatalf("s3 server: %v\n%s", err, s.log)
	return nil
}

// start runs the server on s.Endpoint and waits until it answers.
func (s *Server) start() error {
	cmd := exec.Command(s.bin,
		"--access", AccessKey, "--secret", SecretKey,
		"--port", s.Endpoint, "--quiet",
		// Metadata in a side directory rather than in extended
		// attributes, which not every test machine's /tmp supports.
		"posix", "--sidecar", s.metaDir, s.dataDir)
	// Nothing from the test's environment: versitygw reads its
	// settings from VGW_* and ROOT_* variables too.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + filepath.Dir(s.dataDir)}
	cmd.Stdout, cmd.Stderr = s.log, s.log
	setDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()

	hc := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("%s exited before answering: %v", s.bin, cmd.ProcessState)
		case <-time.After(20 * time.Millisecond):
		}
		// Any HTTP answer will do: an anonymous request gets 403.
		if resp, err := hc.Get("http://" + s.Endpoint + "/"); err == nil {
			resp.Body.Close()
			return nil
		}
	}
	s.Stop()
	return fmt.Errorf("%s did not answer on %s within %v", s.bin, s.Endpoint, startTimeout)
}

// Stop kills the server (SIGKILL, by PID, as a crash would) and waits for
// it to exit. It does nothing if the server is not running.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Kill()
	<-exited
}

// Restart starts a stopped server again on the same endpoint and data.
func (s *Server) Restart(tb testing.TB) {
	tb.Helper()
	s.Stop()
	if err := s.start(); err != nil {
		tb.Fatalf("s3 server: restart: %v\n%s", err, s.log)
	}
}

// Client returns a client of the server with the root credentials.
func (s *Server) Client(tb testing.TB) *minio.Client {
	tb.Helper()
	c, err := minio.New(s.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(AccessKey, SecretKey, ""),
		Region: "us-east-1",
	})
	if err != nil {
		tb.Fatalf("s3 client: %v", err)
	}
	return c
}

// NewBucket creates a bucket with a name no other test of this process
// uses, and returns the name.
func (s *Server) NewBucket(tb testing.TB) string {
	tb.Helper()
	name := fmt.Sprintf("sluice-test-%d", buckets.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Client(tb).MakeBucket(ctx, name, minio.MakeBucketOptions{}); err != nil {
		tb.Fatalf("s3 server: make bucket %s: %v", name, err)
	}
	return name
}

// CredentialsDir writes the root credentials as a mounted Kubernetes
// Secret holds them, files accesskey and secretkey, and returns the
// directory, for the URL parameter credentials=.
func (s *Server) CredentialsDir(tb testing.TB) string {
	tb.Helper()
	return WriteCredentials(tb, AccessKey, SecretKey)
}

// WriteCredentials writes access and secret to the files accesskey and
// secretkey in a new directory and returns it.
func WriteCredentials(tb testing.TB, access, secret string) string {
	tb.Helper()
	dir := tb.TempDir()
	for name, v := range map[string]string{"accesskey": access, "secretkey": secret} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(v+"\n"), 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	return dir
}

// URL returns the store URL of prefix in bucket on this server, with
// credentials from a directory as CredentialsDir writes it.
func (s *Server) URL(tb testing.TB, bucket, prefix string) string {
	tb.Helper()
	q := url.Values{
		"endpoint":    {s.Endpoint},
		"insecure":    {"true"},
		"credentials": {s.CredentialsDir(tb)},
	}
	return (&url.URL{Scheme: "s3", Host: bucket, Path: "/" + strings.Trim(prefix, "/"), RawQuery: q.Encode()}).String()
}

// freePort returns a 127.0.0.1 address that nothing listens on now.
func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// syncBuffer is a bytes.Buffer that the server's output goroutines and
// the test may use at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
