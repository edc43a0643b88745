//go:build amd64 && !amd64.v3

package simulate

// scalarMayFuse reports whether the compiler may fuse scalar products into
// sums (see fuse_v3.go): not on amd64 below GOAMD64=v3, where the scalar
// paths agree with the SIMD ones bit for bit.
const scalarMayFuse = false
