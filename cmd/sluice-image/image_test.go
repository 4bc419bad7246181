package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// launcherPath is sluice-exec, built once by TestMain as make builds it:
// static, stripped.
var launcherPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sluice-image-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	launcherPath = filepath.Join(dir, "sluice-exec")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X main.version=v9.9.9", "-o", launcherPath, "../sluice-exec")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build sluice-exec: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func launcher(t *testing.T) (path string, bin []byte) {
	t.Helper()
	bin, err := os.ReadFile(launcherPath)
	if err != nil {
		t.Fatal(err)
	}
	return launcherPath, bin
}

// writeFile writes a test input.
func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
}

// entry is one file of a layer.
type entry struct {
	hdr  *tar.Header
	data []byte
}

// layerEntries returns the files of img's one layer, in order.
func layerEntries(t *testing.T, img v1.Image) []entry {
	t.Helper()
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers: %d, %v; want 1", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	var out []entry
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, entry{hdr, data})
	}
}

// checkImage checks what the adapters rely on: one layer holding the
// binary at /sluice-exec with mode 0755, and the entrypoint.
func checkImage(t *testing.T, img v1.Image, bin []byte) {
	t.Helper()
	var files []string
	for _, e := range layerEntries(t, img) {
		hdr := e.hdr
		files = append(files, "/"+strings.TrimPrefix(hdr.Name, "/"))
		if "/"+hdr.Name != BinaryPath {
			continue
		}
		if hdr.Typeflag != tar.TypeReg || hdr.Mode != 0o755 || hdr.Uid != 0 || hdr.Gid != 0 {
			t.Errorf("%s: type %c, mode %o, owner %d:%d; want a regular file, 0755, 0:0", BinaryPath, hdr.Typeflag, hdr.Mode, hdr.Uid, hdr.Gid)
		}
		if !bytes.Equal(e.data, bin) {
			t.Errorf("%s: %d bytes that are not the binary (%d bytes)", BinaryPath, len(e.data), len(bin))
		}
	}
	if diff := cmp.Diff([]string{BinaryPath}, files); diff != "" {
		t.Errorf("files in the layer (-want +got):\n%s", diff)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{BinaryPath}, cfg.Config.Entrypoint); diff != "" {
		t.Errorf("entrypoint (-want +got):\n%s", diff)
	}
	if cfg.OS != "linux" || cfg.Architecture != runtime.GOARCH {
		t.Errorf("platform %s/%s, want linux/%s", cfg.OS, cfg.Architecture, runtime.GOARCH)
	}
	if v := cfg.Config.Labels["org.opencontainers.image.version"]; v != "v9.9.9" {
		t.Errorf("version label %q, want v9.9.9", v)
	}
}

func TestDockerArchive(t *testing.T) {
	path, bin := launcher(t)
	out := filepath.Join(t.TempDir(), "bin", "image.tar")
	var stdout bytes.Buffer
	if err := run([]string{"--binary", path, "--version", "v9.9.9", "--output", out}, &stdout); err != nil {
		t.Fatal(err)
	}
	t.Log(strings.TrimSpace(stdout.String()))
	tag, err := name.NewTag(DefaultRepo + ":v9.9.9")
	if err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(out, &tag)
	if err != nil {
		t.Fatalf("load the tarball back as %s: %v", tag, err)
	}
	checkImage(t, img, bin)

	// The same binary gives the same image.
	out2 := filepath.Join(t.TempDir(), "image.tar")
	if err := run([]string{"--binary", path, "--version", "v9.9.9", "--output", out2}, io.Discard); err != nil {
		t.Fatal(err)
	}
	img2, err := tarball.ImageFromPath(out2, &tag)
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := img.Digest()
	d2, _ := img2.Digest()
	if d1 != d2 {
		t.Errorf("two builds of one binary: digests %s and %s", d1, d2)
	}
}

func TestOCILayout(t *testing.T) {
	path, bin := launcher(t)
	out := filepath.Join(t.TempDir(), "oci")
	ref := "registry.example/sluice/launcher:test"
	if err := run([]string{"--binary", path, "--version", "v9.9.9", "--format", "oci", "--ref", ref, "--output", out}, io.Discard); err != nil {
		t.Fatal(err)
	}
	idx, err := layout.ImageIndexFromPath(out)
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil || len(m.Manifests) != 1 {
		t.Fatalf("index: %+v, %v; want one image", m, err)
	}
	if got := m.Manifests[0].Annotations["org.opencontainers.image.ref.name"]; got != ref {
		t.Errorf("ref name %q, want %q", got, ref)
	}
	img, err := idx.Image(m.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	checkImage(t, img, bin)
}

func TestRejects(t *testing.T) {
	path, _ := launcher(t)
	notELF := filepath.Join(t.TempDir(), "script")
	writeFile(t, notELF, "#!/bin/sh\n")
	other := "arm64"
	if runtime.GOARCH == "arm64" {
		other = "amd64"
	}
	out := filepath.Join(t.TempDir(), "image.tar")
	tests := []struct {
		name string
		args []string
	}{
		{"not ELF", []string{"--binary", notELF}},
		{"other architecture", []string{"--binary", path, "--arch", other}},
		{"unknown architecture", []string{"--binary", path, "--arch", "vax"}},
		{"bad ref", []string{"--binary", path, "--ref", "Not A Ref"}},
		{"bad format", []string{"--binary", path, "--format", "zip"}},
		{"missing binary", []string{"--binary", filepath.Join(t.TempDir(), "absent")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := run(append(tt.args, "--output", out), io.Discard); err == nil {
				t.Error("no error")
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("%s written", out)
			}
		})
	}
}

func TestCheckBinaryRejectsDynamic(t *testing.T) {
	// With cgo, a program that uses the C resolver is dynamically linked.
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("no C compiler")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	writeFile(t, src, "package main\n\nimport \"C\"\n\nfunc main() {}\n")
	path := filepath.Join(dir, "dyn")
	cmd := exec.Command("go", "build", "-o", path, src)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("cgo build: %v\n%s", err, out)
	}
	bin, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkBinary(bin, runtime.GOARCH); err == nil {
		t.Error("a dynamically linked binary passed")
	}
}

// The cache plugins' image: the binary elsewhere, with CA certificates
// (and the directories above both), labelled with its own title.
func TestPluginImage(t *testing.T) {
	_, bin := launcher(t)
	pem := []byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")
	img, err := (&Image{Binary: bin, Path: "/usr/bin/sluice", CACerts: pem, Arch: runtime.GOARCH, Version: "v9.9.9"}).Build()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range layerEntries(t, img) {
		got[e.hdr.Name] = fmt.Sprintf("%c %o %d", e.hdr.Typeflag, e.hdr.Mode, len(e.data))
	}
	want := map[string]string{
		"usr/":                              "5 755 0",
		"usr/bin/":                          "5 755 0",
		"usr/bin/sluice":                    fmt.Sprintf("0 755 %d", len(bin)),
		"etc/":                              "5 755 0",
		"etc/ssl/":                          "5 755 0",
		"etc/ssl/certs/":                    "5 755 0",
		"etc/ssl/certs/ca-certificates.crt": fmt.Sprintf("0 644 %d", len(pem)),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("layer (-want +got):\n%s", diff)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"/usr/bin/sluice"}, cfg.Config.Entrypoint); diff != "" {
		t.Errorf("entrypoint (-want +got):\n%s", diff)
	}
	if title := cfg.Config.Labels["org.opencontainers.image.title"]; title != "sluice" {
		t.Errorf("title %q, want sluice", title)
	}
}
