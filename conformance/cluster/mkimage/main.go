// Command mkimage writes a single-layer container image as a docker archive
// (what `ctr images import` and `docker load` read) from files of the host,
// without a registry or a Docker engine. The e2e cluster script builds the
// images its pods run with it: busybox, pause, argoexec and Tekton's.
//
//	mkimage --ref sluice-e2e.local/busybox:1 --out busybox.tar \
//	  --file /bin/busybox=/bin/busybox:0755 --link /bin/sh=busybox \
//	  --dir /tmp:1777 --entrypoint /bin/sh
package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// list is a repeatable string flag.
type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(s string) error { *l = append(*l, s); return nil }

type entry struct {
	hdr  tar.Header
	data []byte
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "mkimage: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	var (
		ref, out, workdir, user string
		files, links, dirs      list
		entrypoint, cmd, env    list
	)
	fs := flag.NewFlagSet("mkimage", flag.ContinueOnError)
	fs.StringVar(&ref, "ref", "", "image reference (`NAME:TAG`) written into the archive")
	fs.StringVar(&out, "out", "", "the docker archive to write")
	fs.Var(&files, "file", "`SRC=DST[:MODE]`: a host file to put at DST (repeatable; MODE octal, default 0755)")
	fs.Var(&links, "link", "`DST=TARGET`: a symbolic link (repeatable)")
	fs.Var(&dirs, "dir", "`DST[:MODE]`: an empty directory (repeatable; default 0755)")
	fs.Var(&entrypoint, "entrypoint", "an entrypoint word (repeatable)")
	fs.Var(&cmd, "cmd", "a command word (repeatable)")
	fs.Var(&env, "env", "`KEY=VALUE` (repeatable)")
	fs.StringVar(&workdir, "workdir", "", "working directory")
	fs.StringVar(&user, "user", "", "user")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if ref == "" || out == "" {
		return errors.New("--ref and --out are required")
	}
	tag, err := name.NewTag(ref)
	if err != nil {
		return err
	}

	entries := map[string]*entry{}
	mtime := time.Unix(0, 0)
	addDir := func(p string, mode int64) {
		p = strings.TrimPrefix(path.Clean(p), "/")
		if p == "." || p == "" {
			return
		}
		if _, ok := entries[p]; !ok {
			entries[p] = &entry{hdr: tar.Header{Typeflag: tar.TypeDir, Name: p + "/", Mode: mode, ModTime: mtime}}
		}
	}
	addParents := func(p string) {
		for d := path.Dir(p); d != "/" && d != "."; d = path.Dir(d) {
			addDir(d, 0o755)
		}
	}
	for _, d := range dirs {
		p, mode, err := splitMode(d, 0o755)
		if err != nil {
			return err
		}
		addParents(p)
		delete(entries, strings.TrimPrefix(path.Clean(p), "/"))
		addDir(p, mode)
	}
	for _, f := range files {
		src, dst, ok := strings.Cut(f, "=")
		if !ok {
			return fmt.Errorf("--file %q: want SRC=DST[:MODE]", f)
		}
		dst, mode, err := splitMode(dst, 0o755)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		addParents(dst)
		p := strings.TrimPrefix(path.Clean(dst), "/")
		entries[p] = &entry{
			hdr:  tar.Header{Typeflag: tar.TypeReg, Name: p, Mode: mode, Size: int64(len(data)), ModTime: mtime},
			data: data,
		}
	}
	for _, l := range links {
		dst, target, ok := strings.Cut(l, "=")
		if !ok {
			return fmt.Errorf("--link %q: want DST=TARGET", l)
		}
		addParents(dst)
		p := strings.TrimPrefix(path.Clean(dst), "/")
		entries[p] = &entry{hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: p, Linkname: target, Mode: 0o777, ModTime: mtime}}
	}

	names := make([]string, 0, len(entries))
	for n := range entries {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		e := entries[n]
		if err := tw.WriteHeader(&e.hdr); err != nil {
			return err
		}
		if _, err := tw.Write(e.data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	layerBytes := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerBytes)), nil
	})
	if err != nil {
		return err
	}
	img, err := mutate.Append(empty.Image, mutate.Addendum{Layer: layer})
	if err != nil {
		return err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", goarch()
	cf.Created = v1.Time{Time: mtime}
	cf.Config.Entrypoint = entrypoint
	cf.Config.Cmd = cmd
	cf.Config.Env = append([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, env...)
	cf.Config.WorkingDir = workdir
	cf.Config.User = user
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return err
	}
	if err := tarball.WriteToFile(out, tag, img); err != nil {
		return err
	}
	d, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Printf("wrote %s (%s) to %s\n", tag, d, out)
	return nil
}

// splitMode splits "PATH:MODE" (MODE octal) and defaults MODE to def.
func splitMode(s string, def int64) (string, int64, error) {
	p, m, ok := strings.Cut(s, ":")
	if !ok {
		return s, def, nil
	}
	mode, err := strconv.ParseInt(m, 8, 64)
	if err != nil {
		return "", 0, fmt.Errorf("%q: bad mode: %w", s, err)
	}
	return p, mode, nil
}

func goarch() string {
	if a := os.Getenv("IMAGE_ARCH"); a != "" {
		return a
	}
	return runtime.GOARCH
}
