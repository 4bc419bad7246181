package main

import (
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sluice-dev/sluice/ir"
)

func TestSchema(t *testing.T) {
	code, stdout, stderr := sluice(t, "schema")
	if code != exitOK || stderr != "" {
		t.Fatalf("exit code %d, stderr %q", code, stderr)
	}
	want, err := ir.Schema()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), stdout); diff != "" {
		t.Errorf("stdout differs from ir.Schema() (-want +got):\n%s", diff)
	}
	committed, err := os.ReadFile("../../docs/pipeline.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(committed), stdout); diff != "" {
		t.Errorf("docs/pipeline.schema.json is stale; run go run ./cmd/sluice schema > docs/pipeline.schema.json (-want +got):\n%s", diff)
	}
}
