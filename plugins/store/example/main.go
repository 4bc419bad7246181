// Command example is a complete Sluice cache store plugin: it keeps the
// cache in the directory given as its first argument, with the same
// layout as Sluice's own filesystem store. A team's plugin would put its
// own system behind the same cache.Store interface.
//
//	go build -o /usr/local/bin/sluice-store-fs ./plugins/store/example
//	sluice run pipeline.yaml --cache 'plugin:///usr/local/bin/sluice-store-fs?arg=/var/cache/team'
//
// Run by hand, it says that it is a plugin and exits: only a host that
// knows the handshake can start it.
package main

import (
	"fmt"
	"os"

	"github.com/sluice-dev/sluice/cache"
	"github.com/sluice-dev/sluice/plugins/store"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: example DIR (started by Sluice as a cache store plugin)")
		os.Exit(2)
	}
	s, err := cache.NewFS(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	store.Serve(s)
}
