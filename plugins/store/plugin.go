package store

import (
	"context"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/sluice-dev/sluice/cache"
	pb "github.com/sluice-dev/sluice/plugins/store/proto"
)

// ProtocolVersion is the version of proto/store.proto's protocol. It
// changes only when a change to the protocol would break a host or a
// plugin built against the other version.
const ProtocolVersion = 1

// Handshake is what a host and a store plugin agree on before anything
// else. The magic cookie only tells a program started by hand that it is
// a plugin, not a command to run; it is no security measure.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "SLUICE_STORE_PLUGIN",
	MagicCookieValue: "a7c61b0e-store",
}

// Name is the name under which a plugin process serves its store.
const Name = "store"

// PluginMap is the set of plugins a store plugin process serves and a
// host dispenses.
func PluginMap(s cache.Store) map[string]plugin.Plugin {
	return map[string]plugin.Plugin{Name: &GRPCPlugin{Impl: s}}
}

// GRPCPlugin is the go-plugin glue for a cache.Store over gRPC. Impl is
// the store a plugin process serves; a host leaves it nil.
type GRPCPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl cache.Store
}

// GRPCServer implements plugin.GRPCPlugin.
func (p *GRPCPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterStoreServer(s, &server{store: p.Impl})
	return nil
}

// GRPCClient implements plugin.GRPCPlugin: it returns a cache.Store.
func (p *GRPCPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &Client{rpc: pb.NewStoreClient(c), timeout: defaultTimeout}, nil
}

var _ plugin.GRPCPlugin = (*GRPCPlugin)(nil)
