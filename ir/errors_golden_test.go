package ir_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluice-dev/sluice/ir"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestErrorsGolden loads files with many problems and compares every
// rendered error, one a line, with testdata/NAME.golden.
func TestErrorsGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no testdata/*.yaml")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			_, err := ir.Load(file)
			if err == nil {
				t.Fatal("Load: no error")
			}
			if len(ir.Errors(err)) < 2 {
				t.Errorf("Load returned %d field errors; the golden files hold many", len(ir.Errors(err)))
			}
			got := []byte(err.Error() + "\n")
			golden := file[:len(file)-len(".yaml")] + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("errors differ from %s (run go test -update to rewrite it)\ngot:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}
