package survey_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"

	"github.com/lenssbi/lenssbi/pkg/survey"
)

// The depth table `lenssbi depth --preset des` prints.
func ExampleWriteDepthTable() {
	p, err := survey.LoadPreset("des")
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := survey.WriteDepthTable(os.Stdout, p); err != nil {
		fmt.Println(err)
	}
	// Output:
	// preset des (data/presets/des.json): 5-sigma point-source depth, PSF-weighted, gaussian PSF, physical noise, pixel 0.263"
	//   band      zp  seeing"  sky mag/"2  exp s  n_exp  sky e-/s/pix  depth@median  median depth       16-84%
	//      g  26.580     1.12       22.01   90.0     10          4.65         25.59         25.59  25.59-25.59
	//      r  26.780     0.96       21.15   90.0     10          12.4         25.46         25.46  25.46-25.46
	//      i  26.750     0.88       19.89   90.0     10          38.4         24.93         24.93  24.93-24.93
	//      z  26.480     0.84       18.72   90.0     10          87.9         24.26         24.26  24.26-24.26
}

// One band of one simulated observation: draw conditions, convolve the
// noise-free model (e-/s) with the PSF, add noise.
func ExamplePreset_AddNoise() {
	p, _ := survey.LoadPreset("delve")
	r := rand.New(rand.NewPCG(1, 2))
	conds := p.SampleConditions(r, nil)
	const n = 48
	model := make([]float64, n*n)
	b := &p.Bands[0]
	model[24*n+24] = b.FluxRate(22) // a 22nd-magnitude star
	psf := survey.NewPSFConvolver(p, n, n)
	psf.SetSeeing(conds[0].Seeing)
	psf.Convolve(model)
	img, variance := make([]float32, n*n), make([]float32, n*n)
	p.AddNoise(r, b, model, conds[0], img, variance)
	fmt.Printf("band %s, %d exposure(s) of %.0f s, seeing %.2f\"\n", conds[0].Band, conds[0].NExp, conds[0].ExpTime, conds[0].Seeing)
	fmt.Printf("peak model %.2f e-/s, sky-noise sigma %.3f e-/s\n", model[24*n+24], math.Sqrt(float64(variance[0])))
	// Output:
	// band g, 1 exposure(s) of 133 s, seeing 1.39"
	// peak model 2.14 e-/s, sky-noise sigma 0.202 e-/s
}
