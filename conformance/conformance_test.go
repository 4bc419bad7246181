package conformance_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/sluice-dev/sluice/conformance"
)

// TestLocal plays every case on the local runner: the reference backend,
// fast enough for every test run.
func TestLocal(t *testing.T) {
	cases, err := conformance.Load(conformance.Cases())
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	m := conformance.Play(context.Background(), cases, []conformance.Backend{&conformance.Local{Dir: t.TempDir()}}, 4, &log)
	t.Logf("\n%s", log.String())
	if !m.Pass() {
		var b bytes.Buffer
		m.Markdown(&b)
		t.Errorf("cases fail on local:\n%s", b.String())
	}
}
