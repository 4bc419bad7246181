package local

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sluice-dev/sluice/ir"
)

// writeJSON writes v atomically: a reader sees the old file or the new one.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// SecretsFrom returns the local secret source: the environment variable
// SLUICE_SECRET_<NAME>_<KEY> (upper case, '-' and '.' as '_'), else the
// file DIR/<name>/<key>, as a mounted Kubernetes Secret lays them out.
func SecretsFrom(dir string) func(ir.SecretRef) (string, error) {
	return func(ref ir.SecretRef) (string, error) {
		env := "SLUICE_SECRET_" + envName(ref.Name) + "_" + envName(ref.Key)
		if v, ok := os.LookupEnv(env); ok {
			return v, nil
		}
		b, err := os.ReadFile(filepath.Join(dir, ref.Name, ref.Key))
		if err != nil {
			return "", fmt.Errorf("secret %s/%s not found: set %s or write it to %s", ref.Name, ref.Key, env, filepath.Join(dir, ref.Name, ref.Key))
		}
		return string(b), nil
	}
}

func envName(s string) string {
	return strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(s))
}
