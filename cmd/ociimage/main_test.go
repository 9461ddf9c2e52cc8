package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// fakeModule is a Wasm header followed by bytes of every value, so that a
// layer that altered, truncated or re-encoded the module would show.
func fakeModule(n int) []byte {
	m := []byte("\x00asm\x01\x00\x00\x00")
	for i := 0; i < n; i++ {
		m = append(m, byte(i*7+i/256))
	}
	return m
}

func writeTestLayout(t *testing.T, module []byte) (string, v1.Hash) {
	t.Helper()
	img, err := Image(module)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "image")
	digest, err := WriteLayout(dir, img, "v1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	return dir, digest
}

// TestTheLayoutHoldsACompatVariantWasmImage reads the layout back as any
// OCI tool would and checks every part Istio's agent looks at.
func TestTheLayoutHoldsACompatVariantWasmImage(t *testing.T) {
	module := fakeModule(70000)
	dir, digest := writeTestLayout(t, module)

	index, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	im, err := index.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 {
		t.Fatalf("the layout indexes %d manifests, want 1", len(im.Manifests))
	}
	desc := im.Manifests[0]
	if desc.Digest != digest {
		t.Errorf("the layout indexes %s, but %s was reported", desc.Digest, digest)
	}
	if desc.MediaType != types.OCIManifestSchema1 {
		t.Errorf("manifest media type %s, want %s", desc.MediaType, types.OCIManifestSchema1)
	}
	if got := desc.Annotations[refNameAnnotation]; got != "v1.2.3" {
		t.Errorf("%s = %q, want the tag v1.2.3", refNameAnnotation, got)
	}

	img, err := index.Image(desc.Digest)
	if err != nil {
		t.Fatal(err)
	}
	// Digests, sizes and diff IDs of every blob against the manifest.
	if err := validate.Image(img); err != nil {
		t.Fatalf("the image does not validate: %v", err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.SchemaVersion != 2 || m.MediaType != types.OCIManifestSchema1 {
		t.Errorf("manifest schemaVersion %d, mediaType %q; want 2, %s", m.SchemaVersion, m.MediaType, types.OCIManifestSchema1)
	}
	if m.Config.MediaType != types.OCIConfigJSON {
		t.Errorf("config media type %s, want %s", m.Config.MediaType, types.OCIConfigJSON)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.OS != "wasip1" || cfg.Architecture != "wasm" {
		t.Errorf("config platform %s/%s, want wasip1/wasm", cfg.OS, cfg.Architecture)
	}
	if len(m.Layers) != 1 {
		t.Fatalf("the image has %d layers, want exactly 1", len(m.Layers))
	}
	if m.Layers[0].MediaType != types.OCILayer {
		t.Errorf("layer media type %s, want %s", m.Layers[0].MediaType, types.OCILayer)
	}

	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	rc, err := layers[0].Compressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	files := untarGzip(t, rc)
	if len(files) != 1 {
		t.Fatalf("the layer holds %d entries, want only %s", len(files), WasmFileName)
	}
	f := files[0]
	if f.hdr.Name != WasmFileName || f.hdr.Typeflag != tar.TypeReg || f.hdr.Mode != 0o644 {
		t.Errorf("layer entry %q (type %q, mode %o), want regular file %s, mode 644", f.hdr.Name, f.hdr.Typeflag, f.hdr.Mode, WasmFileName)
	}
	if !bytes.Equal(f.data, module) {
		t.Errorf("the layer's %s (%d bytes) is not the module (%d bytes)", WasmFileName, len(f.data), len(module))
	}
}

type tarFile struct {
	hdr  *tar.Header
	data []byte
}

func untarGzip(t *testing.T, r io.Reader) []tarFile {
	t.Helper()
	gz, err := gzip.NewReader(r)
	if err != nil {
		t.Fatalf("the layer is not gzip: %v", err)
	}
	tr := tar.NewReader(gz)
	var files []tarFile
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files
		}
		if err != nil {
			t.Fatalf("the layer is not a tar: %v", err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, tarFile{h, data})
	}
}

// TestTheImageIsReproducible: the same module gives the same digest, so a
// digest pinned in a manifest can be checked against a rebuild.
func TestTheImageIsReproducible(t *testing.T) {
	digestOf := func(module []byte) v1.Hash {
		img, err := Image(module)
		if err != nil {
			t.Fatal(err)
		}
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	a, b := digestOf(fakeModule(5000)), digestOf(fakeModule(5000))
	if a != b {
		t.Errorf("two builds of one module: %s and %s", a, b)
	}
	if c := digestOf(fakeModule(5001)); c == a {
		t.Errorf("two different modules share the digest %s", a)
	}
	_, d1 := writeTestLayout(t, fakeModule(5000))
	if d1 != a {
		t.Errorf("the layout reports %s, the image is %s", d1, a)
	}
}

// TestIstioCanPullTheImage pushes the layout's image to an in-process
// registry, as `crane push build/image ...` does, pulls it back over HTTP
// and extracts the module exactly as Istio's agent does for the compat
// variant (pkg/wasm/imagefetcher.go: the last layer must be
// application/vnd.oci.image.layer.v1.tar+gzip, and the module is the tar
// entry whose base name is plugin.wasm). The pulled digest is what Istio
// compares a WasmPlugin's sha256 against.
func TestIstioCanPullTheImage(t *testing.T) {
	module := fakeModule(100000)
	dir, digest := writeTestLayout(t, module)
	index, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	local, err := index.Image(digest)
	if err != nil {
		t.Fatal(err)
	}

	srv := httptest.NewServer(registry.New(registry.Logger(discardLogger())))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	tag, err := name.NewTag(host+"/corswasm/cors:v1.2.3", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, local); err != nil {
		t.Fatalf("push: %v", err)
	}

	pulled, err := remote.Image(tag)
	if err != nil {
		t.Fatalf("pull: %v", err)
	}
	got, err := pulled.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if got != digest {
		t.Errorf("the registry serves %s, the layout holds %s: a pinned digest would not match", got, digest)
	}
	byDigest, err := name.NewDigest(host+"/corswasm/cors@"+digest.String(), name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := remote.Image(byDigest); err != nil {
		t.Errorf("pull by digest (url: oci://...@%s): %v", digest, err)
	}

	extracted, err := istioCompatExtract(pulled)
	if err != nil {
		t.Fatalf("Istio's compat-variant extraction fails: %v", err)
	}
	if !bytes.Equal(extracted, module) {
		t.Errorf("Istio would load %d bytes, not the %d-byte module", len(extracted), len(module))
	}
}

// istioCompatExtract restates the compat-variant rules of Istio's
// extractOCIStandardImage and extractWasmPluginBinary.
func istioCompatExtract(img v1.Image) ([]byte, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	if len(layers) == 0 {
		return nil, errors.New("number of layers must be greater than zero")
	}
	layer := layers[len(layers)-1]
	mt, err := layer.MediaType()
	if err != nil {
		return nil, err
	}
	if mt != types.OCILayer {
		return nil, errors.New("invalid media type " + string(mt))
	}
	r, err := layer.Compressed()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err != nil {
			return nil, err
		}
		if filepath.Base(h.Name) == WasmFileName {
			out := make([]byte, h.Size)
			_, err := io.ReadFull(tr, out)
			return out, err
		}
	}
}

func TestANonWasmFileIsRefused(t *testing.T) {
	for _, data := range [][]byte{nil, []byte("\x00asm"), []byte("#!/bin/sh\necho hi\n")} {
		if _, err := Image(data); err == nil {
			t.Errorf("Image(%q) packed a file that is not a Wasm module", data)
		}
	}
}

func TestWriteLayoutReplacesOnlyALayout(t *testing.T) {
	img, err := Image(fakeModule(100))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "image")
	if _, err := WriteLayout(dir, img, "a"); err != nil {
		t.Fatal(err)
	}
	// Rewriting a layout replaces it: still exactly one image.
	if _, err := WriteLayout(dir, img, "b"); err != nil {
		t.Fatalf("rewriting a layout: %v", err)
	}
	index, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	im, err := index.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].Annotations[refNameAnnotation] != "b" {
		t.Errorf("after a rewrite the layout indexes %+v, want only tag b", im.Manifests)
	}

	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "notes.txt"), []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteLayout(other, img, "a"); err == nil {
		t.Error("WriteLayout replaced a directory that is not an OCI layout")
	}
	if _, err := os.Stat(filepath.Join(other, "notes.txt")); err != nil {
		t.Errorf("a foreign directory was touched: %v", err)
	}
}

func discardLogger() *log.Logger { return log.New(io.Discard, "", 0) }
