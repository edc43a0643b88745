//go:build !(goexperiment.simd && amd64)

package simulate

// Without GOEXPERIMENT=simd on amd64 the kernels run element by element:
// the SIMD entry points process nothing.

// No SIMD paths.
var hasAVX2, hasAVX512, useAVX2, useAVX512 bool

// kernelVec is empty without SIMD support.
type kernelVec struct{}

func (k *rayKernel) initVec() {}

func (k *rayKernel) valuesSIMD(x, y, val []float64) int { return 0 }

func (k *rayKernel) shootSIMD(x, y, bx, by, val []float64) int { return 0 }

func (k *rayKernel) deflectSIMD(dx, dy, ax, ay []float64) int { return 0 }

func convRowSIMD(dst, row, k []float64) int { return 0 }

func convColsSIMD(o, t []float64, stride int, k []float64) int { return 0 }

func polarTermsSIMD(pc *polarConsts, ce, se, alx, aly, j, jh, c, t, inu []float64) int { return 0 }

func devValuesSIMD(k *devKernel, x, y, val []float64) int { return 0 }
