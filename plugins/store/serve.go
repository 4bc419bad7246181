package store

import (
	"github.com/hashicorp/go-plugin"

	"github.com/sluice-dev/sluice/cache"
)

// Serve serves s as a store plugin on the process's stdin/stdout
// handshake and does not return until the host stops the plugin. It is
// all a plugin's main needs to call.
func Serve(s cache.Store) {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: Handshake,
		Plugins:         PluginMap(s),
		GRPCServer:      plugin.DefaultGRPCServer,
	})
}
