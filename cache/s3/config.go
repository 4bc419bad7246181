package s3

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/minio/minio-go/v7/pkg/s3utils"
)

// DefaultEndpoint is the endpoint of a URL that names none: AWS S3.
const DefaultEndpoint = "s3.amazonaws.com"

// DefaultPartSize is the size of the parts PutBlob uploads a large blob
// in. Each PutBlob holds one part in memory, so it bounds what a blob of
// any size costs, and with S3's limit of 10,000 parts it allows blobs of
// up to 156 GiB.
const DefaultPartSize = 16 << 20

// Lookup says how requests address the bucket.
type Lookup string

// The bucket lookup styles.
const (
	// LookupAuto is virtual-hosted style on AWS S3 and GCS, path style
	// elsewhere (see Config.Lookup).
	LookupAuto Lookup = ""
	// LookupDNS puts the bucket in the host name: https://bucket.host/key.
	LookupDNS Lookup = "dns"
	// LookupPath puts the bucket in the path: https://host/bucket/key.
	LookupPath Lookup = "path"
)

// Config says where a store is and how to reach it. ParseURL makes one
// from a store URL; embedders and tests may fill one in directly.
type Config struct {
	// Bucket is the bucket, which must exist.
	Bucket string
	// Prefix is the key prefix the layout lives under, without leading
	// or trailing slashes; empty for the bucket's root.
	Prefix string
	// Endpoint is the server's host[:port]; empty means DefaultEndpoint.
	Endpoint string
	// Region is the bucket's region; empty lets the client ask the
	// server (one GetBucketLocation request, then cached).
	Region string
	// Insecure speaks plain HTTP instead of HTTPS.
	Insecure bool
	// Lookup is the addressing style. LookupAuto means path style when
	// Endpoint is set (MinIO and most S3-compatible servers run without
	// wildcard DNS), and lets the client choose for AWS S3.
	Lookup Lookup
	// CredentialsDir, when set, is the only source of credentials: a
	// directory holding the files accesskey, secretkey and optionally
	// sessiontoken, as a mounted Kubernetes Secret does. When empty the
	// usual sources are tried in order (see the package documentation).
	CredentialsDir string
	// Credentials, when set, is the only source of credentials, before
	// CredentialsDir: it returns the files a credentials directory holds,
	// by name, as a Kubernetes Secret's data does. A cache plugin reads
	// the Secret through the API, where a pod would mount it. It is
	// called again when the credentials it gave are a minute old, so a
	// rotated Secret takes effect.
	Credentials func() (map[string][]byte, error)
	// MaxRetries is how many times a failed request is tried; zero
	// means minio-go's default (10, with backoff of up to a second).
	MaxRetries int
	// PartSize is the multipart upload part size; zero means
	// DefaultPartSize. S3 requires at least 5 MiB.
	PartSize uint64
}

// URL query parameters.
const (
	paramEndpoint    = "endpoint"
	paramRegion      = "region"
	paramInsecure    = "insecure"
	paramLookup      = "lookup"
	paramCredentials = "credentials"
)

var params = []string{paramCredentials, paramEndpoint, paramInsecure, paramLookup, paramRegion}

// ParseURL parses a store URL:
//
//	s3://bucket/prefix?endpoint=host:port&region=r&insecure=true&lookup=dns|path&credentials=/dir
//
// Every query parameter is optional. Unknown parameters are errors, so a
// typo does not silently fall back to a default; so are credentials in
// the URL itself, which would end up in logs.
func ParseURL(u *url.URL) (Config, error) {
	fail := func(format string, args ...any) (Config, error) {
		return Config{}, fmt.Errorf("parse s3 url %q: %s", u.Redacted(), fmt.Sprintf(format, args...))
	}
	if u.Scheme != "s3" {
		return fail("scheme %q: want s3", u.Scheme)
	}
	if u.User != nil {
		return fail("credentials do not belong in the URL: use the environment, a credentials file or ?%s=/dir", paramCredentials)
	}
	if u.Opaque != "" {
		return fail("want s3://bucket/prefix")
	}
	c := Config{Bucket: u.Host, Prefix: strings.Trim(u.Path, "/")}
	q := u.Query()
	for name, vals := range q {
		if !slices.Contains(params, name) {
			return fail("unknown parameter %q (known: %s)", name, strings.Join(params, ", "))
		}
		if len(vals) != 1 {
			return fail("parameter %q given %d times", name, len(vals))
		}
	}
	c.Endpoint = q.Get(paramEndpoint)
	if strings.Contains(c.Endpoint, "://") || strings.Contains(c.Endpoint, "/") {
		return fail("endpoint %q: want host[:port], with %s=true for plain HTTP", c.Endpoint, paramInsecure)
	}
	c.Region = q.Get(paramRegion)
	if v := q.Get(paramInsecure); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fail("%s=%q: want true or false", paramInsecure, v)
		}
		c.Insecure = b
	}
	switch l := Lookup(q.Get(paramLookup)); l {
	case LookupAuto, LookupDNS, LookupPath:
		c.Lookup = l
	default:
		return fail("%s=%q: want %s or %s", paramLookup, l, LookupDNS, LookupPath)
	}
	c.CredentialsDir = q.Get(paramCredentials)
	if err := c.validate(); err != nil {
		return fail("%v", err)
	}
	return c, nil
}

// String returns the store's URL without its query: s3://bucket/prefix.
func (c Config) String() string {
	if c.Prefix == "" {
		return "s3://" + c.Bucket
	}
	return "s3://" + c.Bucket + "/" + c.Prefix
}

// endpoint returns the endpoint requests go to.
func (c Config) endpoint() string {
	if c.Endpoint == "" {
		return DefaultEndpoint
	}
	return c.Endpoint
}

// partSize returns the upload part size.
func (c Config) partSize() uint64 {
	if c.PartSize == 0 {
		return DefaultPartSize
	}
	return c.PartSize
}

// validate checks what ParseURL checks, for a Config filled in directly.
func (c Config) validate() error {
	var errs []error
	if err := s3utils.CheckValidBucketName(c.Bucket); err != nil {
		errs = append(errs, fmt.Errorf("bucket %q: %w", c.Bucket, err))
	}
	if c.Prefix != strings.Trim(c.Prefix, "/") || strings.Contains(c.Prefix, "//") {
		errs = append(errs, fmt.Errorf("prefix %q: want no leading, trailing or doubled slashes", c.Prefix))
	}
	switch c.Lookup {
	case LookupAuto, LookupDNS, LookupPath:
	default:
		errs = append(errs, fmt.Errorf("lookup %q: want %q, %q or %q", c.Lookup, LookupAuto, LookupDNS, LookupPath))
	}
	if c.PartSize != 0 && c.PartSize < 5<<20 {
		errs = append(errs, fmt.Errorf("part size %d: S3 requires at least 5 MiB", c.PartSize))
	}
	return errors.Join(errs...)
}
