package main

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"github.com/sluice-dev/sluice/ir"
)

type schemaOptions struct {
	stdout io.Writer
}

func newSchemaCmd() *cobra.Command {
	opts := &schemaOptions{}
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of the pipeline file",
		Long: `Print the JSON Schema (draft 2020-12) of the pipeline file, for editors and
other tools. The same schema is in docs/pipeline.schema.json.

With yaml-language-server (VS Code's YAML extension, and others), start a
pipeline file with:

  # yaml-language-server: $schema=path/to/pipeline.schema.json`,
		Example: `  sluice schema > pipeline.schema.json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.stdout = cmd.OutOrStdout()
			return runSchema(cmd.Context(), opts)
		},
	}
}

func runSchema(_ context.Context, opts *schemaOptions) error {
	b, err := ir.Schema()
	if err != nil {
		return err
	}
	_, err = opts.stdout.Write(b)
	return err
}
