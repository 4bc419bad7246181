package store

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/sluice-dev/sluice/cache"
)

// Scheme is the cache URL scheme of plugin stores.
const Scheme = "plugin"

func init() { cache.Register(Scheme, open) }

// open starts the plugin that u names:
//
//	plugin:///path/to/binary?arg=A&arg=B&timeout=10s&start_timeout=10s
func open(_ context.Context, u *url.URL) (cache.Store, error) {
	fail := func(format string, args ...any) (cache.Store, error) {
		return nil, fmt.Errorf("open cache %s: %s", u.Redacted(), fmt.Sprintf(format, args...))
	}
	if u.Host != "" {
		return fail("names host %q: want plugin:///absolute/path/to/binary", u.Host)
	}
	if !path.IsAbs(u.Path) {
		return fail("want plugin:///absolute/path/to/binary")
	}
	bin := filepath.FromSlash(u.Path)
	if fi, err := os.Stat(bin); err != nil {
		return fail("%v", err)
	} else if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return fail("%s is not an executable file", bin)
	}
	q := u.Query()
	timeout, startTimeout := defaultTimeout, 10*time.Second
	for name, d := range map[string]*time.Duration{"timeout": &timeout, "start_timeout": &startTimeout} {
		if s := q.Get(name); s != "" {
			v, err := time.ParseDuration(s)
			if err != nil || v <= 0 {
				return fail("%s=%q: want a positive duration such as 10s", name, s)
			}
			*d = v
		}
		q.Del(name)
	}
	args := q["arg"]
	q.Del("arg")
	for k := range q {
		return fail("unknown query key %q (known: arg, timeout, start_timeout)", k)
	}
	c, err := Start(bin, args, startTimeout)
	if err != nil {
		return fail("%v", err)
	}
	c.timeout = timeout
	return c, nil
}

// Start starts the store plugin bin with args and connects to it. Close
// the Client to stop the plugin; plugin.CleanupClients stops every plugin
// still running, as a host does before it exits.
func Start(bin string, args []string, startTimeout time.Duration) (*Client, error) {
	pc := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  Handshake,
		Plugins:          PluginMap(nil),
		Cmd:              exec.Command(bin, args...),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Managed:          true,
		StartTimeout:     startTimeout,
		// What the plugin writes to stderr reaches the user's; go-plugin's
		// own chatter only when it matters.
		Logger: hclog.New(&hclog.LoggerOptions{Name: "store-plugin", Level: hclog.Warn, Output: os.Stderr}),
	})
	conn, err := pc.Client()
	if err != nil {
		pc.Kill()
		return nil, fmt.Errorf("start store plugin %s: %w", bin, err)
	}
	raw, err := conn.Dispense(Name)
	if err != nil {
		pc.Kill()
		return nil, fmt.Errorf("store plugin %s: %w", bin, err)
	}
	c := raw.(*Client)
	c.name, c.close = filepath.Base(bin), pc.Kill
	return c, nil
}
