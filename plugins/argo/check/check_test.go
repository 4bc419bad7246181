package check

import "testing"

func TestParam(t *testing.T) {
	for out, want := range map[string]string{"params.rmse": "rmse", "artifacts.model": "model", "params.a.b": "a.b"} {
		if got := Param(out); got != want {
			t.Errorf("Param(%q) = %q, want %q", out, got, want)
		}
	}
}
