package light_test

import (
	"fmt"

	"github.com/lenssbi/lenssbi/pkg/light"
)

// Render a lens galaxy's de Vaucouleurs light into a 48 x 48 DECam cutout with
// 4 x 4 supersampling and the exact treatment of its central cusp.
func ExampleRenderSersic() {
	const n, pix = 48, 0.263
	lens := light.NewSersic(1000, 0.8, 4, 0.7, 0.3, 0.05, -0.02) // 1000 e-/s, R_e 0.8"
	img := make([]float64, n*n)
	light.RenderSersic(img, n, n, pix, 4, lens)
	sum := 0.0
	for _, v := range img {
		sum += v
	}
	inside := lens.RectFlux(-n*pix/2, n*pix/2, -n*pix/2, n*pix/2)
	fmt.Printf("b_4 = %.4f, I_e = %.3f e-/s/arcsec^2\n", lens.Bn(), lens.Ie())
	fmt.Printf("pixel sum %.1f e-/s; flux inside the cutout %.1f; total 1000\n", sum, inside)
	// Output:
	// b_4 = 7.6692, I_e = 68.938 e-/s/arcsec^2
	// pixel sum 948.2 e-/s; flux inside the cutout 948.6; total 1000
}
