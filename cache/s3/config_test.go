package s3

import (
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		url  string
		want Config
	}{
		{"s3://bucket", Config{Bucket: "bucket"}},
		{"s3://bucket/", Config{Bucket: "bucket"}},
		{"s3://bucket/team/cache/", Config{Bucket: "bucket", Prefix: "team/cache"}},
		{"s3://my.bucket-1/p?region=eu-west-1", Config{Bucket: "my.bucket-1", Prefix: "p", Region: "eu-west-1"}},
		{
			"s3://bkt/p?endpoint=127.0.0.1:9000&insecure=true&lookup=path&credentials=/var/run/secrets/s3",
			Config{Bucket: "bkt", Prefix: "p", Endpoint: "127.0.0.1:9000", Insecure: true, Lookup: LookupPath, CredentialsDir: "/var/run/secrets/s3"},
		},
		{"s3://my-bucket/p?endpoint=storage.googleapis.com&lookup=dns&insecure=false",
			Config{Bucket: "my-bucket", Prefix: "p", Endpoint: "storage.googleapis.com", Lookup: LookupDNS}},
		// GCS allows underscores in bucket names.
		{"s3://my_gcs_bucket", Config{Bucket: "my_gcs_bucket"}},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			got, err := ParseURL(mustParse(t, tt.url))
			if err != nil {
				t.Fatalf("ParseURL: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseURL mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseURLInvalid(t *testing.T) {
	tests := []struct {
		name string
		url  string
	}{
		{"other scheme", "gs://bucket/p"},
		{"no bucket", "s3:///p"},
		{"bad bucket name", "s3://bad..bucket/p"},
		{"short bucket name", "s3://ab/p"},
		{"credentials in URL", "s3://AKIA:secret@bucket/p"},
		{"empty path segment", "s3://bucket/a//b"},
		{"unknown parameter", "s3://bucket/p?endpont=127.0.0.1:9000"},
		{"repeated parameter", "s3://bucket/p?region=a&region=b"},
		{"endpoint with scheme", "s3://bucket/p?endpoint=http://127.0.0.1:9000"},
		{"endpoint with path", "s3://bucket/p?endpoint=host/path"},
		{"insecure not a bool", "s3://bucket/p?insecure=maybe"},
		{"unknown lookup", "s3://bucket/p?lookup=virtual"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if c, err := ParseURL(mustParse(t, tt.url)); err == nil {
				t.Errorf("ParseURL(%q) = %+v, want an error", tt.url, c)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"bad bucket", Config{Bucket: "B"}},
		{"slashes around prefix", Config{Bucket: "bucket", Prefix: "/p/"}},
		{"unknown lookup", Config{Bucket: "bucket", Lookup: "vhost"}},
		{"part size below S3's minimum", Config{Bucket: "bucket", PartSize: 1 << 20}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.validate(); err == nil {
				t.Errorf("validate(%+v) = nil, want an error", tt.cfg)
			}
		})
	}
}

func TestConfigString(t *testing.T) {
	for _, tt := range []struct {
		cfg  Config
		want string
	}{
		{Config{Bucket: "b"}, "s3://b"},
		{Config{Bucket: "b", Prefix: "x/y", Endpoint: "h:1", Region: "r"}, "s3://b/x/y"},
	} {
		if got := tt.cfg.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.cfg, got, tt.want)
		}
	}
}

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
