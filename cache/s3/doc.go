// Package s3 is the cache.Store for S3-compatible object storage: MinIO
// (as Kubeflow installs ship it), AWS S3, and Google Cloud Storage through
// its XML API interoperability. It uses minio-go.
//
// Importing the package registers the "s3" scheme with cache.Register, so
// that cache.Open accepts s3:// URLs; cmd/sluice imports it for that side
// effect alone:
//
//	import _ "github.com/sluice-dev/sluice/cache/s3"
//
// # URL
//
//	s3://bucket/prefix?endpoint=host:port&region=r&insecure=true&lookup=dns|path&credentials=/dir
//
// The prefix may be empty or hold several segments. Every parameter is
// optional, and unknown ones are errors:
//
//   - endpoint: the server, host[:port]; default s3.amazonaws.com.
//   - region: the bucket's region. Without it the client asks the server
//     once (GetBucketLocation); setting it saves that request, and the
//     s3:GetBucketLocation permission on AWS.
//   - insecure=true: plain HTTP instead of HTTPS.
//   - lookup: dns puts the bucket in the host name (virtual-hosted style),
//     path in the URL path. The default is path when an endpoint is given,
//     since MinIO and most S3-compatible servers have no wildcard DNS, and
//     the client's choice (virtual-hosted) on AWS.
//   - credentials: a directory holding the credentials; see below.
//
// Credentials never go in the URL, which ends up in logs and in workflow
// specs.
//
// # Credentials
//
// With ?credentials=/dir, the files in that directory are the only
// source: accesskey and secretkey, and sessiontoken if present, each
// holding one value (surrounding white space, such as the newline of a
// Secret made with echo, is ignored). That is how a Kubernetes Secret with
// those keys appears when mounted as a volume; Kubeflow's
// mlpipeline-minio-artifact Secret has the same keys. The files are read
// again a minute after each read, so a rotated Secret takes effect without
// a restart. A missing or empty file fails New.
//
// Otherwise the first of these that yields a key pair is used, through
// minio-go's credentials chain:
//
//  1. $AWS_ACCESS_KEY_ID, $AWS_SECRET_ACCESS_KEY and $AWS_SESSION_TOKEN
//     (or $AWS_ACCESS_KEY and $AWS_SECRET_KEY);
//  2. $MINIO_ROOT_USER and $MINIO_ROOT_PASSWORD (or $MINIO_ACCESS_KEY and
//     $MINIO_SECRET_KEY);
//  3. the AWS shared files: $AWS_SHARED_CREDENTIALS_FILE (default
//     ~/.aws/credentials) over $AWS_CONFIG_FILE (default ~/.aws/config),
//     profile $AWS_PROFILE or "default", with credential_process and SSO
//     profiles;
//  4. IAM: a web identity token ($AWS_WEB_IDENTITY_TOKEN_FILE and
//     $AWS_ROLE_ARN, as EKS IAM roles for service accounts set them), the
//     ECS or EKS Pod Identity container endpoint, or the EC2 instance
//     role. Each request for these gives up after 5 seconds.
//
// With none of them, requests are anonymous, which works for a public
// bucket only. An error about rejected credentials says which access key
// was sent and where it came from, or that none was found.
//
// # Layout
//
// Under the prefix, as in the filesystem store:
//
//	ac/<key hex>.json   entries, one JSON object each
//	cas/sha256/<hex>    blobs
//	tmp/<random>        staging objects of blobs being written
//
// # Writes and reads
//
// PutBlob streams: the data passes once through SHA-256 on its way into a
// multipart upload to a staging object, in parts of DefaultPartSize (16
// MiB; Config.PartSize), and only one part is in memory at a time, so a
// blob of any size costs about 17 MiB. With S3's limit of 10,000 parts a
// blob may be up to 156 GiB at the default part size. A blob that ends
// within its first MiB goes up in one PUT instead. Once the digest is
// known, the staging object is copied on the server to cas/sha256/<hex>
// (skipped when an object of that size is already there: same name, same
// content) and removed. A copy over 5 GiB is made part by part
// (UploadPartCopy), as S3 requires.
//
// OpenBlob streams one GET through SHA-256; a blob whose content does not
// match its digest ends in an error wrapping cache.ErrCorrupt instead of
// io.EOF, and is removed. An entry that does not decode is removed and
// reported as cache.ErrCorrupt. A missing object (NoSuchKey) is
// cache.ErrNotFound.
//
// # Consistency
//
// AWS S3 (since December 2020), MinIO and GCS are strongly consistent for
// object reads, writes, deletes and listings: a blob or entry is readable
// as soon as the call that wrote it returns. A single PUT, a completed
// multipart upload and a server-side copy all make an object visible
// whole or not at all, so a reader never sees part of a blob or entry
// under its name, whoever crashes when. Two writers of one blob copy the
// same content over each other; two writers of one entry race, and the
// last one wins, as in the filesystem store.
//
// S3 deletes are unconditional, so DeleteEntry and DeleteBlob ask first
// whether the object exists (a HEAD) to report cache.ErrNotFound, and the
// removal of a corrupt object checks its ETag first; a writer that
// replaces the object between the check and the delete loses it, which
// costs one cache miss.
//
// A writer that crashes leaves a staging object, which New removes when it
// is more than a day old, or an incomplete multipart upload, which is not
// an object but takes space (and on AWS is billed) until it is aborted:
// give the bucket a lifecycle rule that aborts incomplete multipart
// uploads after a day (MinIO does so by itself).
//
// # Servers
//
// MinIO: give the endpoint, and insecure=true if it speaks plain HTTP.
//
// AWS S3: leave the endpoint out. The credentials need s3:ListBucket (New
// checks the bucket with a HEAD request), s3:GetObject, s3:PutObject,
// s3:DeleteObject, s3:AbortMultipartUpload and, unless the URL gives the
// region, s3:GetBucketLocation.
//
// Google Cloud Storage: endpoint=storage.googleapis.com with an HMAC key
// as the credentials. minio-go does not use multipart uploads or the
// aws-chunked streaming signature with GCS, so a blob goes up as one PUT
// streamed with chunked transfer encoding: memory stays bounded (there is
// no part buffer at all), but a failed upload cannot resume from its last
// part; PutBlob fails and its caller retries. The server-side copy stays
// within one bucket, so one location and storage class, which GCS
// completes in one request whatever the size; the store never uses
// UploadPartCopy there. It uses no multi-object delete (one DELETE per
// object) and lists with ListObjectsV2 without owners, both of which GCS
// serves. GCS bucket names may hold underscores; the URL accepts them.
//
// # Errors
//
// A failure of the store itself comes as an *Error naming the store's URL
// and endpoint, wrapping ErrNoBucket, ErrAccessDenied or ErrUnreachable
// when it is one of those:
//
//	open cache: s3 store s3://ml-cache/team at 127.0.0.1:9000: bucket "ml-cache": no such bucket
//
// # Tests
//
// The tests run against a real S3 server, versitygw, that package s3test
// starts; they are skipped unless $SLUICE_S3_SERVER names its binary, which
// hack/s3-server.sh builds and prints.
package s3
