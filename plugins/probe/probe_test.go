package probe

import (
	"context"
	"errors"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/sluice-dev/sluice/cache/s3test"
	"github.com/sluice-dev/sluice/internal/launch"
	"github.com/sluice-dev/sluice/internal/plan/plantest"
	"github.com/sluice-dev/sluice/ir"
)

const pipeline = `
apiVersion: sluice.dev/v1alpha1
kind: Pipeline
metadata: {name: p}
spec:
  params: [{name: n, default: "3"}]
  defaults: {image: busybox:1.36}
  steps:
    - name: s
      command: [sh, -c, 'echo "v=${{ params.n }}" > ${{ outputs.params.v }}; seq 3 > ${{ outputs.artifacts.f }}']
      outputs: {params: [{name: v}], artifacts: [{name: f}]}
`

// launcherArgs returns the command line of step s's launcher, as an
// adapter writes it, with the store URL store and parameter n.
func launcherArgs(t *testing.T, store, n string) []string {
	t.Helper()
	p, err := ir.Parse("p.yaml", []byte(pipeline))
	if err != nil {
		t.Fatal(err)
	}
	b64, err := (&launch.Spec{Pipeline: "p", Step: p.Spec.Steps[0]}).Encode()
	if err != nil {
		t.Fatal(err)
	}
	return []string{"--spec-b64=" + b64, "--cache=" + store, "--out-dir=/tmp/sluice/out", "--in=params.n=" + n}
}

// run runs the step through the launcher, as its pod would.
func run(t *testing.T, args []string) *launch.Response {
	t.Helper()
	return plantest.Launch(t, args, nil)
}

func TestProbeMissThenHit(t *testing.T) {
	store := "file://" + t.TempDir()
	var p Prober
	args := launcherArgs(t, store, "3")
	miss := p.Probe(context.Background(), &Request{Args: args})
	if miss.Hit || miss.Fault || miss.Key.IsZero() || !strings.HasPrefix(miss.Reason, "no cache entry") {
		t.Fatalf("before any run: %+v, want a miss on a known key with reason \"no cache entry …\"", miss)
	}
	ran := run(t, args)
	hit := p.Probe(context.Background(), &Request{Args: args})
	if !hit.Hit || hit.Key != ran.Key {
		t.Fatalf("after the run: %+v, want a hit on %s", hit, ran.Key)
	}
	if diff := cmp.Diff(ran.Outputs, hit.Outputs); diff != "" {
		t.Errorf("outputs (-launcher +probe):\n%s", diff)
	}
	if !strings.Contains(hit.Message(), "cache hit "+ran.Key.String()) {
		t.Errorf("message %q does not name the hit", hit.Message())
	}
	if other := p.Probe(context.Background(), &Request{Args: launcherArgs(t, store, "4")}); other.Hit {
		t.Errorf("another parameter value hit: %+v", other)
	}
}

// A probe never fails: every fault is a miss with its reason.
func TestProbeFaultsAreMisses(t *testing.T) {
	closed := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		return addr
	}
	// A server that accepts connections and never answers: a slow store.
	slow, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	go func() {
		for {
			c, err := slow.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	s3url := func(endpoint string) string {
		return "s3://bkt/p?endpoint=" + endpoint + "&insecure=true&region=us-east-1&credentials=/var/run/secrets/none"
	}
	tests := []struct {
		name   string
		args   []string
		secret string
		reason string
	}{
		{"malformed", []string{"--no-such-flag"}, "", "malformed request: run: flag provided but not defined: -no-such-flag"},
		{"no spec", []string{"--cache=file:///tmp"}, "", "malformed request: no spec"},
		{"bad spec", []string{"--spec-b64=!!", "--cache=file:///tmp"}, "", "malformed request: decode spec"},
		{"store down", launcherArgs(t, s3url(closed()), "3"), "", "open cache"},
		{"store slow", launcherArgs(t, s3url(slow.Addr().String()), "3"), "", "did not answer within 1s"},
		{"no secret reader", launcherArgs(t, s3url(closed()), "3"), "creds", "this plugin cannot read Secrets"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Prober{Timeout: time.Second}
			start := time.Now()
			res := p.Probe(context.Background(), &Request{Args: tt.args, Namespace: "ns", Secret: tt.secret})
			if res.Hit || !res.Fault || !strings.Contains(res.Reason, tt.reason) {
				t.Errorf("result %+v, want a miss whose reason holds %q", res, tt.reason)
			}
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("took %v, want about the timeout (1s) at most", took)
			}
			if !strings.HasPrefix(res.Message(), "sluice: cache miss: ") || strings.Contains(res.Message(), "\n") {
				t.Errorf("message %q: want one line starting \"sluice: cache miss: \"", res.Message())
			}
		})
	}
}

// The credentials come from the Secret the pods mount, read through the
// API: never from the directory named in the launcher's URL.
func TestProbeReadsTheSecret(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.NewBucket(t)
	podURL := srv.URL(t, bucket, "cache") // credentials=<dir>, as in the pod
	args := launcherArgs(t, podURL, "3")
	ran := run(t, args)

	// The pod's directory does not exist where the plugin runs.
	u, _ := url.Parse(podURL)
	q := u.Query()
	q.Set("credentials", filepath.Join(t.TempDir(), "not-mounted-here"))
	u.RawQuery = q.Encode()
	args = launcherArgs(t, u.String(), "3")

	secret := func(access, key string) *corev1.Secret {
		return &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: "ml", Name: "creds"},
			Data:       map[string][]byte{"accesskey": []byte(access), "secretkey": []byte(key)},
		}
	}
	p := Prober{Secrets: KubeSecrets{Client: fake.NewClientset(secret(s3test.AccessKey, s3test.SecretKey))}}
	hit := p.Probe(context.Background(), &Request{Args: args, Namespace: "ml", Secret: "creds"})
	if !hit.Hit || hit.Key != ran.Key {
		t.Fatalf("probe with the Secret: %+v, want a hit on %s", hit, ran.Key)
	}

	wrong := Prober{Secrets: KubeSecrets{Client: fake.NewClientset(secret(s3test.AccessKey, "wrong"))}}
	if res := wrong.Probe(context.Background(), &Request{Args: args, Namespace: "ml", Secret: "creds"}); res.Hit {
		t.Errorf("probe with wrong credentials hit: %+v", res)
	}
	missing := Prober{Secrets: KubeSecrets{Client: fake.NewClientset()}}
	res := missing.Probe(context.Background(), &Request{Args: args, Namespace: "ml", Secret: "creds"})
	if res.Hit || !strings.Contains(res.Reason, `Secret ml/creds`) {
		t.Errorf("probe without the Secret: %+v, want a miss naming Secret ml/creds", res)
	}
}

func TestOneLine(t *testing.T) {
	err := errors.Join(errors.New("a\n  b"), errors.New("c"))
	if got, want := oneLine(err), "a; b; c"; got != want {
		t.Errorf("oneLine = %q, want %q", got, want)
	}
}
