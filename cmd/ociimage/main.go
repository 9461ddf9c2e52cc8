// Command ociimage packs plugin.wasm into an OCI image that Istio pulls
// with a WasmPlugin (or TrafficExtension) whose url is oci://...
//
//	go run ./cmd/ociimage [-wasm plugin.wasm] [-o build/image] [-tag latest] [-q]
//
// It writes an OCI image layout directory, offline, and prints the image's
// manifest digest: the value to pin in the Istio manifests (url
// oci://REGISTRY/REPO@sha256:DIGEST, or the sha256 field). Push the layout
// with any OCI tool; the manifest is copied byte for byte, so the digest in
// the registry is the one printed here:
//
//	crane push build/image REGISTRY/REPO:TAG
//	oras cp --from-oci-layout build/image:TAG REGISTRY/REPO:TAG
//	skopeo copy oci:build/image:TAG docker://REGISTRY/REPO:TAG
//
// The image is the "compat" variant of the Wasm image format Istio's agent
// reads (pkg/wasm/imagefetcher.go in istio/istio, after solo-io/wasm's
// spec-compat.md): an OCI image manifest whose single layer
// (application/vnd.oci.image.layer.v1.tar+gzip) is a tar holding one file,
// plugin.wasm. It is the variant Istio tries first, the one a
// `FROM scratch` + `COPY plugin.wasm ./` Dockerfile produces, and every
// registry stores it. The image is reproducible: the same plugin.wasm gives
// the same digest.
package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// epoch is every timestamp in the image (as with SOURCE_DATE_EPOCH=0).
var epoch = v1.Time{Time: time.Unix(0, 0).UTC()}

// WasmFileName is the file name Istio looks for in the layer.
const WasmFileName = "plugin.wasm"

// refNameAnnotation names an image inside an OCI layout; oras and skopeo
// address it as build/image:TAG.
const refNameAnnotation = "org.opencontainers.image.ref.name"

func main() {
	wasmPath := flag.String("wasm", "plugin.wasm", "the Wasm module to pack")
	out := flag.String("o", filepath.Join("build", "image"), "the OCI image layout directory to write (replaced if it holds an OCI layout)")
	tag := flag.String("tag", "latest", "the tag recorded in the layout (org.opencontainers.image.ref.name)")
	quiet := flag.Bool("q", false, "print only the manifest digest")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: ociimage [-wasm plugin.wasm] [-o build/image] [-tag latest] [-q]\n\n"+
			"Packs a Wasm module into an OCI image layout Istio can pull (oci://), offline, and prints its digest.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}

	module, err := os.ReadFile(*wasmPath)
	if err != nil {
		fatal(fmt.Errorf("%v (build it first: make build)", err))
	}
	img, err := Image(module)
	if err != nil {
		fatal(fmt.Errorf("%s: %v", *wasmPath, err))
	}
	digest, err := WriteLayout(*out, img, *tag)
	if err != nil {
		fatal(err)
	}
	if *quiet {
		fmt.Println(digest)
		return
	}
	sum := sha256.Sum256(module)
	fmt.Printf("wrote %s: OCI image layout, tag %s, one layer holding %s\n", *out, *tag, WasmFileName)
	fmt.Printf("  image digest  %s\n", digest)
	fmt.Printf("  plugin.wasm   sha256:%s, %d bytes\n", hex.EncodeToString(sum[:]), len(module))
	fmt.Printf("push:  crane push %s REGISTRY/corswasm:TAG   (or oras cp --from-oci-layout %s:%s REGISTRY/corswasm:TAG)\n", *out, *out, *tag)
	fmt.Printf("pin:   url: oci://REGISTRY/corswasm@%s\n", digest)
	fmt.Printf("   or  url: oci://REGISTRY/corswasm:TAG  with  sha256: %s\n", digest.Hex)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "ociimage:", err)
	os.Exit(1)
}

// Image returns the compat-variant Wasm image of module: an OCI manifest,
// an OCI config for wasip1/wasm, and one tar+gzip layer holding plugin.wasm.
// Every timestamp is the Unix epoch, so the same module gives the same digest.
func Image(module []byte) (v1.Image, error) {
	if len(module) < 8 || !bytes.Equal(module[:4], []byte("\x00asm")) {
		return nil, errors.New("not a WebAssembly module (no \\0asm header)")
	}
	layer, err := wasmLayer(module)
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.ConfigFile(img, &v1.ConfigFile{
		Architecture: "wasm",
		OS:           "wasip1",
		Created:      epoch,
		RootFS:       v1.RootFS{Type: "layers"},
	})
	if err != nil {
		return nil, err
	}
	return mutate.Append(img, mutate.Addendum{
		Layer:   layer,
		History: v1.History{Created: epoch, CreatedBy: "corswasm cmd/ociimage", Comment: WasmFileName},
	})
}

// wasmLayer is a gzip-compressed tar holding one regular file, plugin.wasm,
// readable by everyone, modified at the epoch.
func wasmLayer(module []byte) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{
		Typeflag: tar.TypeReg,
		Name:     WasmFileName,
		Mode:     0o644,
		Size:     int64(len(module)),
		ModTime:  epoch.Time,
		Format:   tar.FormatUSTAR,
	}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(module); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer), tarball.WithCompressedCaching)
}

// WriteLayout writes img as the only image of an OCI image layout in dir,
// tagged tag, and returns its manifest digest. A dir that already holds an
// OCI layout is replaced; any other non-empty dir is refused.
func WriteLayout(dir string, img v1.Image, tag string) (v1.Hash, error) {
	if err := clearLayout(dir); err != nil {
		return v1.Hash{}, err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return v1.Hash{}, err
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{refNameAnnotation: tag})); err != nil {
		return v1.Hash{}, err
	}
	return img.Digest()
}

func clearLayout(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) || (err == nil && len(entries) == 0) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, "oci-layout")); err != nil {
		return fmt.Errorf("%s exists and is not an OCI image layout: refusing to replace it", dir)
	}
	return os.RemoveAll(dir)
}
