package main

import (
	"context"
	"strings"

	"github.com/spf13/cobra"
)

// pluginServer is one engine's cache plugin, as `sluice plugin serve
// ENGINE` runs it inside the cluster. Each engine registers its own from
// its file (plugin_argo.go, plugin_tekton.go).
type pluginServer struct {
	short string
	// flags adds the server's own flags; serve runs until ctx ends.
	flags func(cmd *cobra.Command) func(ctx context.Context, cmd *cobra.Command) error
}

var pluginServers = newRegistry[pluginServer]("plugin server")

func registerPluginServer(engine string, s pluginServer) { pluginServers.add(engine, s) }

func newPluginCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plugin",
		Short: "Run Sluice's cache plugins (inside a cluster)",
		Long: `The cache plugins look each step up in the shared cache before any pod
exists, so a hit starts no pod. They run inside the cluster, as
'sluice install' lays them out; 'sluice compile --cache-plugin' writes
pipelines that use them.`,
	}
	serve := &cobra.Command{
		Use:   "serve ENGINE",
		Short: "Serve an engine's cache plugin: " + strings.Join(pluginServers.names(), ", "),
	}
	for _, engine := range pluginServers.names() {
		s, _ := pluginServers.get(engine)
		c := &cobra.Command{Use: engine, Short: s.short, Args: cobra.NoArgs}
		run := s.flags(c)
		c.RunE = func(cmd *cobra.Command, _ []string) error { return run(cmd.Context(), cmd) }
		serve.AddCommand(c)
	}
	cmd.AddCommand(serve)
	return cmd
}

// component is something `sluice install NAME` prints the manifests of.
type component struct {
	short string
	// flags adds the component's own flags; objects returns its
	// manifests, in the order to apply them.
	flags func(cmd *cobra.Command) func() ([]any, error)
}

var components = newRegistry[component]("component")

func registerComponent(name string, c component) { components.add(name, c) }

func newInstallCmd() *cobra.Command {
	names := components.names()
	cmd := &cobra.Command{
		Use:   "install COMPONENT",
		Short: "Print the manifests of a cluster component: " + strings.Join(names, ", "),
		Long: `Print the manifests that install a component of Sluice into a cluster, for
'kubectl apply -f -'. Nothing is applied.`,
	}
	for _, name := range names {
		comp, _ := components.get(name)
		var output string
		c := &cobra.Command{Use: name, Short: comp.short, Args: cobra.NoArgs}
		objects := comp.flags(c)
		addOutputFlag(c, &output, "yaml", "json")
		c.RunE = func(cmd *cobra.Command, _ []string) error {
			objs, err := objects()
			if err != nil {
				return err
			}
			return writeObjects(cmd.OutOrStdout(), output, objs)
		}
		cmd.AddCommand(c)
	}
	return cmd
}

// defaultPluginImage is the image of this build's sluice binary, which the
// cache plugins run in (`make image` builds it beside the launcher's).
func defaultPluginImage() string {
	return "ghcr.io/sluice-dev/sluice:" + version
}
