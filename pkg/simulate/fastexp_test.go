package simulate

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestFastExp: fastExp matches math.Exp to 1e-12 relative on [-700, 0]
// (dense random points plus the table's node values) and is 0 below -700.
func TestFastExp(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	worst := 0.0
	check := func(x float64) {
		want := math.Exp(x)
		got := fastExp(x)
		if e := math.Abs(got/want - 1); e > worst {
			worst = e
		}
	}
	for i := 0; i < 200000; i++ {
		check(-700 * r.Float64())
		check(-40 * r.Float64())
	}
	for k := 0; k <= 64*20; k++ {
		check(-float64(k) * math.Ln2 / 64)
	}
	check(0)
	if worst > 1e-12 {
		t.Errorf("fastExp relative error %.3g > 1e-12", worst)
	}
	if fastExp(-701) != 0 || fastExp(math.Inf(-1)) != 0 {
		t.Error("fastExp below -700 is not 0")
	}
	t.Logf("largest relative error %.2g", worst)
}
