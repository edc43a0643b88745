//go:build !amd64 || amd64.v3

package simulate

// scalarMayFuse reports that the compiler may fuse a scalar product into a
// following sum (amd64 with GOAMD64=v3 and above; arm64 and others by
// default), even where an explicit float64 conversion asks it not to, so the
// scalar paths of the SIMD kernels can differ from them in the last bit.
// amd64 binaries built so run only on CPUs with AVX2, where the scalar paths
// are never taken (the SIMD paths pad partial groups); other architectures
// have only the scalar paths.
const scalarMayFuse = true
