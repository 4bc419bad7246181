package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
)

// DefaultRepo is the launcher image's repository; the tag is the version.
const DefaultRepo = "ghcr.io/sluice-dev/sluice-exec"

type options struct {
	binary, arch, version, ref, format, output string
	path, title, caCerts                       string
	created                                    time.Time
}

func main() {
	err := run(os.Args[1:], os.Stdout)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.As(err, new(usageError)):
		fmt.Fprintf(os.Stderr, "sluice-image: %v\n", err)
		os.Exit(2)
	default:
		fmt.Fprintf(os.Stderr, "sluice-image: %v\n", err)
		os.Exit(1)
	}
}

type usageError struct{ error }

func run(args []string, stdout io.Writer) error {
	o, err := parse(args, stdout)
	if err != nil {
		return err
	}
	bin, err := os.ReadFile(o.binary)
	if err != nil {
		return err
	}
	if err := checkBinary(bin, o.arch); err != nil {
		return fmt.Errorf("%s: %w", o.binary, err)
	}
	ref, err := name.NewTag(o.ref, name.StrictValidation)
	if err != nil {
		return usageError{fmt.Errorf("--ref: %w", err)}
	}
	im := &Image{Binary: bin, Path: o.path, Title: o.title, Arch: o.arch, Version: o.version, Created: o.created}
	if o.caCerts != "" {
		if im.CACerts, err = os.ReadFile(o.caCerts); err != nil {
			return fmt.Errorf("--ca-certs: %w", err)
		}
	}
	img, err := im.Build()
	if err != nil {
		return err
	}
	if err := ensureDir(o.output); err != nil {
		return err
	}
	if err := formats[o.format](o.output, ref, img); err != nil {
		return fmt.Errorf("write %s: %w", o.output, err)
	}
	d, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (%s, linux/%s) to %s as %s\n", ref, d, o.arch, o.output, o.format)
	return nil
}

func parse(args []string, stdout io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("sluice-image", flag.ContinueOnError)
	fs.SetOutput(stdout)
	arch := os.Getenv("GOARCH")
	if arch == "" {
		arch = runtime.GOARCH
	}
	names := make([]string, 0, len(formats))
	for n := range formats {
		names = append(names, n)
	}
	sort.Strings(names)
	fs.StringVar(&o.binary, "binary", "bin/sluice-exec", "the static `FILE` to put into the image (sluice-exec, or sluice for the plugins' image)")
	fs.StringVar(&o.arch, "arch", arch, "the image's architecture, as GOARCH")
	fs.StringVar(&o.version, "version", "dev", "the launcher's version, the default tag")
	fs.StringVar(&o.ref, "ref", "", "the image `REF` (default "+DefaultRepo+":VERSION)")
	fs.StringVar(&o.path, "path", BinaryPath, "where the binary goes in the image, its entrypoint")
	fs.StringVar(&o.title, "title", "", "the image's title label (default: the binary's name)")
	fs.StringVar(&o.caCerts, "ca-certs", "", "PEM `FILE` of CA certificates to put at "+CACertsPath)
	fs.StringVar(&o.format, "format", "docker", "output format: "+strings.Join(names, " or "))
	fs.StringVar(&o.output, "output", "", "where to write (default bin/sluice-exec-image.tar, or bin/sluice-exec-image for oci)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, usageError{err}
	}
	if fs.NArg() > 0 {
		return nil, usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	if _, ok := formats[o.format]; !ok {
		return nil, usageError{fmt.Errorf("--format %q: want %s", o.format, strings.Join(names, " or "))}
	}
	if o.ref == "" {
		o.ref = DefaultRepo + ":" + o.version
	}
	if o.output == "" {
		o.output = "bin/sluice-exec-image.tar"
		if o.format == "oci" {
			o.output = "bin/sluice-exec-image"
		}
	}
	o.created = time.Unix(0, 0)
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, usageError{fmt.Errorf("SOURCE_DATE_EPOCH %q: want seconds since the epoch", s)}
		}
		o.created = time.Unix(sec, 0)
	}
	return o, nil
}
