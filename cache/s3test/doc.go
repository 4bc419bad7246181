// Package s3test runs a real S3 server for tests: versitygw, a small S3
// gateway that stores objects as files, started on 127.0.0.1 with a
// temporary data directory and killed when the test ends.
//
// Tests find the server binary through the environment variable
// SLUICE_S3_SERVER, which hack/s3-server.sh prints the value of:
//
//	export SLUICE_S3_SERVER=$(hack/s3-server.sh)
//	go test -race ./cache/...
//
// Without it, Start skips the test, so `go test ./...` passes on a machine
// that has only Go.
//
//	func TestSomething(t *testing.T) {
//		srv := s3test.Start(t)
//		u := srv.URL(t, srv.NewBucket(t), "cache")
//		st, err := cache.Open(t.Context(), u)
//		…
//	}
package s3test
