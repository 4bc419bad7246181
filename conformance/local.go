package conformance

import (
	"context"
	"path/filepath"

	"github.com/sluice-dev/sluice/adapters/local"
	"github.com/sluice-dev/sluice/cache"
	"github.com/sluice-dev/sluice/internal/report"
)

// Local runs cases with the local runner, in this process, commands on
// the host, each case with a store of its own under Dir.
type Local struct {
	Dir string
}

func (l *Local) Name() string { return "local" }

func (l *Local) Store(ctx context.Context, c *Case) (string, Values, error) {
	return "file://" + filepath.Join(l.Dir, c.Name, "cache"), nil, nil
}

func (l *Local) Run(ctx context.Context, c *Case, store string) (*report.Summary, error) {
	s, err := cache.Open(ctx, store)
	if err != nil {
		return nil, err
	}
	return local.Run(ctx, c.Pipeline, c.Params, local.Options{
		Store:   s,
		RunsDir: filepath.Join(l.Dir, c.Name, "runs"),
		Secrets: local.SecretsFrom(filepath.Join(l.Dir, "secrets")),
	})
}
