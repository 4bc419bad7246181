package main

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// BinaryPath is where the launcher sits in its image; the adapters'
// init container relies on it.
const BinaryPath = "/sluice-exec"

// CACertsPath is where an image's CA certificates go, where Go's
// crypto/x509 looks first on Linux.
const CACertsPath = "/etc/ssl/certs/ca-certificates.crt"

// Image describes an image to build: one binary, its entrypoint, and
// optionally CA certificates (the cache plugins' image talks to S3 over
// TLS; the launcher runs inside the step's own image and needs none).
type Image struct {
	Binary []byte
	// Path is where the binary goes; empty means BinaryPath.
	Path string
	// Title names the image in its labels; empty means the binary's name.
	Title string
	// CACerts, when set, is the PEM bundle written to CACertsPath.
	CACerts []byte
	Arch    string // GOARCH
	Version string
	Created time.Time
}

func (im *Image) path() string {
	if im.Path == "" {
		return BinaryPath
	}
	return im.Path
}

// machines maps GOARCH to the ELF machine its binaries have.
var machines = map[string]elf.Machine{
	"amd64":   elf.EM_X86_64,
	"arm64":   elf.EM_AARCH64,
	"arm":     elf.EM_ARM,
	"386":     elf.EM_386,
	"ppc64le": elf.EM_PPC64,
	"s390x":   elf.EM_S390,
	"riscv64": elf.EM_RISCV,
}

// checkBinary reports why bin is not a static Linux executable for arch.
func checkBinary(bin []byte, arch string) error {
	want, ok := machines[arch]
	if !ok {
		return fmt.Errorf("architecture %q: want one of amd64, arm64, arm, 386, ppc64le, s390x, riscv64", arch)
	}
	f, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		return fmt.Errorf("binary: not an ELF executable: %w", err)
	}
	defer f.Close()
	if f.Machine != want {
		return fmt.Errorf("binary: built for %s, the image is %s", f.Machine, arch)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("binary: dynamically linked: build it with CGO_ENABLED=0")
		}
	}
	return nil
}

// Build returns the image: one layer holding the binary at BinaryPath.
func (im *Image) Build() (v1.Image, error) {
	files := []file{{im.path(), 0o755, im.Binary}}
	if im.CACerts != nil {
		files = append(files, file{CACertsPath, 0o644, im.CACerts})
	}
	layerTar, err := layerTar(files)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	img, err := mutate.AppendLayers(base, layer)
	if err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS = "linux"
	cfg.Architecture = im.Arch
	cfg.Created = v1.Time{Time: im.Created.UTC()}
	cfg.Config.Entrypoint = []string{im.path()}
	title := im.Title
	if title == "" {
		title = filepath.Base(im.path())
	}
	cfg.Config.Labels = map[string]string{
		"org.opencontainers.image.title":   title,
		"org.opencontainers.image.version": im.Version,
		"org.opencontainers.image.source":  "https://github.com/sluice-dev/sluice",
	}
	return mutate.ConfigFile(img, cfg)
}

// file is one regular file of a layer.
type file struct {
	path string
	mode int64
	data []byte
}

// layerTar is the layer: the files and the directories above them, with
// nothing in their headers that depends on the machine that built it.
func layerTar(files []file) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	header := func(typ byte, name string, mode, size int64) error {
		return tw.WriteHeader(&tar.Header{
			Typeflag: typ, Name: name, Mode: mode, Size: size,
			ModTime: time.Unix(0, 0), Format: tar.FormatUSTAR,
		})
	}
	dirs := map[string]bool{}
	var err error
	for _, f := range files {
		name := strings.TrimPrefix(f.path, "/")
		parts := strings.Split(name, "/")
		for i := 1; i < len(parts) && err == nil; i++ {
			if d := strings.Join(parts[:i], "/") + "/"; !dirs[d] {
				dirs[d] = true
				err = header(tar.TypeDir, d, 0o755, 0)
			}
		}
		if err == nil {
			err = header(tar.TypeReg, name, f.mode, int64(len(f.data)))
		}
		if err == nil {
			_, err = tw.Write(f.data)
		}
	}
	if err == nil {
		err = tw.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	return buf.Bytes(), nil
}

// writeDocker writes img as a docker-archive tarball tagged ref, whole or
// not at all.
func writeDocker(path string, ref name.Tag, img v1.Image) error {
	tmp := path + ".tmp"
	if err := tarball.WriteToFile(tmp, ref, img); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// writeOCI writes img as an OCI image layout at dir, replacing what was
// there, with ref as the image's ref name.
func writeOCI(dir string, ref name.Tag, img v1.Image) error {
	tmp := dir + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	p, err := layout.Write(tmp, empty.Index)
	if err == nil {
		err = p.AppendImage(img, layout.WithAnnotations(map[string]string{
			"org.opencontainers.image.ref.name": ref.String(),
		}))
	}
	if err == nil {
		err = os.RemoveAll(dir)
	}
	if err == nil {
		err = os.Rename(tmp, dir)
	}
	if err != nil {
		os.RemoveAll(tmp)
	}
	return err
}

// formats are the output formats by --format name.
var formats = map[string]func(string, name.Tag, v1.Image) error{
	"docker": writeDocker,
	"oci":    writeOCI,
}

func ensureDir(path string) error { return os.MkdirAll(filepath.Dir(path), 0o755) }
