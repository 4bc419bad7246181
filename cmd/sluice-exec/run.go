package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/sluice-dev/sluice/internal/launch"
)

func runCmd(args []string, stdout, stderr io.Writer) error {
	var o launch.RunFlags
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o.Register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fmt.Fprintln(stdout, "usage: sluice-exec run --spec-b64 B64 --cache URL [flags]")
			fs.PrintDefaults()
			return errHelp
		}
		return usageError("run: %v", err)
	}
	req, err := o.Request(fs.Args(), os.Getenv)
	if err != nil {
		return err
	}
	req.Environ = os.Environ()
	req.Stdout, req.Stderr = stdout, stderr

	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	go func() {
		if s, ok := (<-sigs).(syscall.Signal); ok {
			cancel(&launch.Interrupted{Signal: s})
		}
	}()
	_, err = launch.Run(ctx, req)
	return err
}
