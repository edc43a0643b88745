package simulate

import "math"

// scalarEqual compares a result of a scalar path with a SIMD one: bit for
// bit where the compiler does not fuse scalar multiply-adds
// (scalarMayFuse), else to 1e-12 relative (a few ulp through the kernels).
func scalarEqual(a, b float64) bool {
	if !scalarMayFuse {
		return math.Float64bits(a) == math.Float64bits(b)
	}
	return a == b || math.Abs(a-b) <= 1e-12*math.Max(math.Abs(a), math.Abs(b)) || math.Abs(a-b) < 1e-300
}
