package s3

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Names of the files in a credentials directory (Config.CredentialsDir),
// the keys of the Kubernetes Secret mounted there. Kubeflow Pipelines'
// mlpipeline-minio-artifact Secret uses the same two.
const (
	fileAccessKey    = "accesskey"
	fileSecretKey    = "secretkey"
	fileSessionToken = "sessiontoken"
)

// dirReread is how long credentials read from a directory are used before
// the files are read again: Kubernetes updates a mounted Secret in place
// when it is rotated.
const dirReread = time.Minute

// iamTimeout bounds each request for IAM credentials, so that a machine
// off AWS, where the instance metadata address may drop packets rather
// than refuse them, does not hang.
const iamTimeout = 5 * time.Second

// creds are a store's credentials with a record of where they came from,
// for error messages.
type creds struct {
	*credentials.Credentials
	mu     sync.Mutex
	tried  []string
	source string // the source that gave the credentials in use
	key    string // their access key ID, which is not secret
}

// newCreds returns the credentials c names: its directory alone, or else
// the usual sources in order.
func newCreds(c Config) (*creds, error) {
	cr := new(creds)
	if c.Credentials != nil || c.CredentialsDir != "" {
		p := &dirProvider{dir: c.CredentialsDir, files: c.Credentials}
		source := "files in " + c.CredentialsDir
		if c.Credentials != nil {
			source = "the credentials given"
		}
		// Read now so that a missing or empty file fails the store's
		// opening, not its first request.
		if _, err := p.read(); err != nil {
			return nil, err
		}
		cr.Credentials = credentials.New(cr.named(source, p))
		return cr, nil
	}
	cr.Credentials = credentials.NewChainCredentials([]credentials.Provider{
		cr.named("$AWS_ACCESS_KEY_ID", &credentials.EnvAWS{}),
		cr.named("$MINIO_ROOT_USER", &credentials.EnvMinio{}),
		cr.named("the AWS shared credentials file", &credentials.FileAWSCredentials{}),
		cr.named("IAM (web identity, container or instance role)",
			&credentials.IAM{Client: &http.Client{Timeout: iamTimeout}}),
	})
	return cr, nil
}

// named wraps p to record, when it yields credentials, that they came
// from source.
func (cr *creds) named(source string, p credentials.Provider) credentials.Provider {
	cr.tried = append(cr.tried, source)
	return &namedProvider{Provider: p, note: func(v credentials.Value) {
		if v.AccessKeyID == "" && v.SecretAccessKey == "" {
			return
		}
		cr.mu.Lock()
		cr.source, cr.key = source, v.AccessKeyID
		cr.mu.Unlock()
	}}
}

// describe says which credentials were sent, for a message about their
// being rejected.
func (cr *creds) describe() string {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	if cr.source == "" {
		return fmt.Sprintf("no credentials found in %s: requests were anonymous", strings.Join(cr.tried, ", "))
	}
	return fmt.Sprintf("access key %q from %s", cr.key, cr.source)
}

// namedProvider calls note with what its Provider retrieves.
type namedProvider struct {
	credentials.Provider
	note func(credentials.Value)
}

func (p *namedProvider) RetrieveWithCredContext(cc *credentials.CredContext) (credentials.Value, error) {
	v, err := p.Provider.RetrieveWithCredContext(cc)
	if err == nil {
		p.note(v)
	}
	return v, err
}

func (p *namedProvider) Retrieve() (credentials.Value, error) {
	return p.RetrieveWithCredContext(nil)
}

// dirProvider reads credentials from files in a directory, one value per
// file, as Kubernetes mounts a Secret; or, when files is set, from what it
// returns, the same files by name.
type dirProvider struct {
	dir     string
	files   func() (map[string][]byte, error)
	readAt  time.Time
	nowFunc func() time.Time // for tests; nil means time.Now
}

func (p *dirProvider) now() time.Time {
	if p.nowFunc != nil {
		return p.nowFunc()
	}
	return time.Now()
}

func (p *dirProvider) read() (credentials.Value, error) {
	readFile := func(name string) ([]byte, error) { return os.ReadFile(filepath.Join(p.dir, name)) }
	if p.files != nil {
		files, err := p.files()
		if err != nil {
			return credentials.Value{}, fmt.Errorf("read credentials: %w", err)
		}
		readFile = func(name string) ([]byte, error) {
			b, ok := files[name]
			if !ok {
				return nil, fmt.Errorf("no %s: %w", name, os.ErrNotExist)
			}
			return b, nil
		}
	}
	get := func(name string, required bool) (string, error) {
		b, err := readFile(name)
		if errors.Is(err, os.ErrNotExist) && !required {
			return "", nil
		}
		if err != nil {
			return "", fmt.Errorf("read credentials: %w", err)
		}
		// A Secret made with `echo` or from a file ends in a newline.
		v := strings.TrimSpace(string(b))
		if v == "" && required {
			if p.files != nil {
				return "", fmt.Errorf("read credentials: %s is empty", name)
			}
			return "", fmt.Errorf("read credentials: %s is empty", filepath.Join(p.dir, name))
		}
		return v, nil
	}
	var v credentials.Value
	var err error
	if v.AccessKeyID, err = get(fileAccessKey, true); err != nil {
		return credentials.Value{}, err
	}
	if v.SecretAccessKey, err = get(fileSecretKey, true); err != nil {
		return credentials.Value{}, err
	}
	if v.SessionToken, err = get(fileSessionToken, false); err != nil {
		return credentials.Value{}, err
	}
	v.SignerType = credentials.SignatureV4
	p.readAt = p.now()
	return v, nil
}

func (p *dirProvider) RetrieveWithCredContext(*credentials.CredContext) (credentials.Value, error) {
	return p.read()
}

func (p *dirProvider) Retrieve() (credentials.Value, error) { return p.read() }

func (p *dirProvider) IsExpired() bool {
	return p.readAt.IsZero() || p.now().Sub(p.readAt) > dirReread
}
