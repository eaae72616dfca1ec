package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/bpdl/bpdl/bpdl/study"
)

// runExport is `reproduce export`: with the flags of the run that trained them, it writes the trained
// nets of the runs complete in the output folder as NumPy files, one folder per run (study.Export; the
// files are described in docs/interop.md).
func runExport(_ context.Context, args []string, stdout, stderr io.Writer) error {
	var to string
	f, err := parseStudyFlags(args, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&to, "to", "", "the folder to export into (default: the -out folder's export/)")
		fs.Usage = func() {
			fmt.Fprintf(fs.Output(), "usage: reproduce export [flags]\n\n"+
				"Writes each trained net of the runs complete in -out as W1.npy, b1.npy, ... and model.json,\n"+
				"one folder per run in -to. Give the flags the run was made with (its plan finds the runs).\n\nflags:\n")
			fs.PrintDefaults()
		}
	})
	if err != nil {
		return err
	}
	if to == "" {
		to = filepath.Join(f.cfg.Out, "export")
	}
	s, err := study.New(f.cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	written, missing, err := s.Export(to)
	if err != nil {
		return err
	}
	for _, w := range written {
		fmt.Fprintf(stdout, "exported %s\n", w)
	}
	for _, r := range missing {
		fmt.Fprintf(stderr, "reproduce export: %s is not complete in %s: not exported\n", r.ID, f.cfg.Out)
	}
	if len(written) == 0 {
		return errors.New("export: no complete run of this configuration in " + f.cfg.Out + ": run reproduce with the same flags first")
	}
	return nil
}
