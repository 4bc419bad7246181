package s3

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDirProvider(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  credentials.Value
	}{
		{
			"trailing newlines",
			map[string]string{"accesskey": "AK\n", "secretkey": "SK\n"},
			credentials.Value{AccessKeyID: "AK", SecretAccessKey: "SK", SignerType: credentials.SignatureV4},
		},
		{
			"session token",
			map[string]string{"accesskey": "AK", "secretkey": "SK", "sessiontoken": "TOK"},
			credentials.Value{AccessKeyID: "AK", SecretAccessKey: "SK", SessionToken: "TOK", SignerType: credentials.SignatureV4},
		},
	}
	for _, tt := range tests {
		for source, p := range providers(t, tt.files) {
			t.Run(tt.name+"/"+source, func(t *testing.T) {
				got, err := p.Retrieve()
				if err != nil {
					t.Fatalf("Retrieve: %v", err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("Retrieve mismatch (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// providers returns a provider reading files from a directory, and one
// reading the same files from Config.Credentials, as a Secret's data.
func providers(t *testing.T, files map[string]string) map[string]*dirProvider {
	dir := t.TempDir()
	writeFiles(t, dir, files)
	data := map[string][]byte{}
	for name, content := range files {
		data[name] = []byte(content)
	}
	return map[string]*dirProvider{
		"dir":  {dir: dir},
		"func": {files: func() (map[string][]byte, error) { return data, nil }},
	}
}

func TestDirProviderInvalid(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
	}{
		{"no files", nil},
		{"no secret key", map[string]string{"accesskey": "AK"}},
		{"empty access key", map[string]string{"accesskey": "\n", "secretkey": "SK"}},
	}
	for _, tt := range tests {
		for source, p := range providers(t, tt.files) {
			t.Run(tt.name+"/"+source, func(t *testing.T) {
				if _, err := newCreds(Config{CredentialsDir: p.dir, Credentials: p.files}); err == nil {
					t.Errorf("newCreds with %v: no error", tt.files)
				}
			})
		}
	}
}

// A rotated Secret is picked up after dirReread.
func TestDirProviderRereads(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"accesskey": "old", "secretkey": "old-secret"})
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	p := &dirProvider{dir: dir, nowFunc: func() time.Time { return now }}
	c := credentials.New(p)
	get := func() string {
		t.Helper()
		v, err := c.Get()
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		return v.AccessKeyID
	}
	if got := get(); got != "old" {
		t.Fatalf("first Get: access key %q, want %q", got, "old")
	}
	writeFiles(t, dir, map[string]string{"accesskey": "new", "secretkey": "new-secret"})
	if got := get(); got != "old" {
		t.Errorf("Get right after rotation: access key %q, want the cached %q", got, "old")
	}
	now = now.Add(dirReread + time.Second)
	if got := get(); got != "new" {
		t.Errorf("Get after %v: access key %q, want %q", dirReread, got, "new")
	}
}

// clearCredentialEnv unsets what the credentials chain reads, so that the
// machine's own credentials play no part.
func clearCredentialEnv(t *testing.T) {
	t.Helper()
	for _, v := range []string{
		"AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY", "AWS_SESSION_TOKEN",
		"MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD", "MINIO_ACCESS_KEY", "MINIO_SECRET_KEY", "AWS_PROFILE",
	} {
		t.Setenv(v, "")
	}
	missing := filepath.Join(t.TempDir(), "missing")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", missing)
	t.Setenv("AWS_CONFIG_FILE", missing)
}

func TestCredsChain(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		file string // AWS shared credentials file content
		want string // describe()
	}{
		{
			name: "AWS environment first",
			env: map[string]string{
				"AWS_ACCESS_KEY_ID": "aws", "AWS_SECRET_ACCESS_KEY": "s",
				"MINIO_ROOT_USER": "minio", "MINIO_ROOT_PASSWORD": "s",
			},
			want: `access key "aws" from $AWS_ACCESS_KEY_ID`,
		},
		{
			name: "MinIO environment",
			env:  map[string]string{"MINIO_ROOT_USER": "minio", "MINIO_ROOT_PASSWORD": "s"},
			want: `access key "minio" from $MINIO_ROOT_USER`,
		},
		{
			name: "shared credentials file and profile",
			env:  map[string]string{"AWS_PROFILE": "ci"},
			file: "[default]\naws_access_key_id = dflt\naws_secret_access_key = s\n[ci]\naws_access_key_id = ci\naws_secret_access_key = s\n",
			want: `access key "ci" from the AWS shared credentials file`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearCredentialEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			if tt.file != "" {
				f := filepath.Join(t.TempDir(), "credentials")
				writeFiles(t, filepath.Dir(f), map[string]string{"credentials": tt.file})
				t.Setenv("AWS_SHARED_CREDENTIALS_FILE", f)
			}
			cr, err := newCreds(Config{})
			if err != nil {
				t.Fatalf("newCreds: %v", err)
			}
			if _, err := cr.Get(); err != nil {
				t.Fatalf("Get: %v", err)
			}
			if got := cr.describe(); got != tt.want {
				t.Errorf("describe() = %q, want %q", got, tt.want)
			}
		})
	}
}
