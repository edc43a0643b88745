package main

import (
	"fmt"
	"io"

	"github.com/lenssbi/lenssbi/pkg/survey"
)

func runDepth(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("depth", "depth [--preset NAME|FILE.json]", stderr)
	preset := fs.String("preset", "delve", "survey preset name or .json path")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	p, err := survey.LoadPreset(*preset)
	if err != nil {
		return usageError{err.Error()}
	}
	return survey.WriteDepthTable(stdout, p)
}

func runPresets(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("presets", "presets", stderr)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	for _, name := range survey.PresetNames() {
		p, err := survey.LoadPreset(name)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%-11s %s\n", name, p.Description)
	}
	return nil
}
