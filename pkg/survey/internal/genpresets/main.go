// Command genpresets writes the survey presets of data/presets from the
// reference data in ../shared/data (see package presetgen):
//
//	go run ./pkg/survey/internal/genpresets -shared ../shared -out data/presets
//
// With -check it compares instead of writing and exits 1 on a difference.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/lenssbi/lenssbi/pkg/survey/internal/presetgen"
)

func main() {
	shared := flag.String("shared", "../shared", "directory holding the reference data (data/surveys/delve.json)")
	out := flag.String("out", "data/presets", "directory to write the presets to")
	check := flag.Bool("check", false, "compare with the files in -out instead of writing")
	flag.Parse()
	files, err := presetgen.Build(*shared)
	if err != nil {
		fmt.Fprintln(os.Stderr, "genpresets:", err)
		os.Exit(1)
	}
	bad := false
	for _, name := range slices.Sorted(maps.Keys(files)) {
		p := filepath.Join(*out, name)
		if *check {
			old, err := os.ReadFile(p)
			if err != nil || !bytes.Equal(old, files[name]) {
				fmt.Fprintf(os.Stderr, "genpresets: %s differs from a fresh generation\n", p)
				bad = true
			}
			continue
		}
		if err := os.WriteFile(p, files[name], 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "genpresets:", err)
			os.Exit(1)
		}
		fmt.Println("wrote", p)
	}
	if bad {
		os.Exit(1)
	}
}
