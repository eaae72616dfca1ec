package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/bpdl/bpdl/bpdl/backend"
	"github.com/bpdl/bpdl/bpdl/data"
	"github.com/bpdl/bpdl/bpdl/report"
)

// runFetch is `reproduce fetch`: it puts what a run needs on this machine ahead of the run, so that the
// run itself needs no network (a container image build, a machine about to go offline). It loads each
// named dataset, downloading what the data cache lacks and verifying every file against its recorded
// checksum, and, with -backend, opens that backend once: for xla:cpu with BPDL_XLA_AUTOINSTALL=1 that
// downloads GoMLX's XLA PJRT plugin; with -echarts, it puts the figures' echarts script into the user
// cache (report.FetchEcharts), verified against the integrity hash package-lock.json pins.
func runFetch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("reproduce fetch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", "", "cache directory for downloaded data (default $"+data.CacheEnvVar+" or the user cache dir)")
	offline := fs.Bool("offline", false, "never download: only check that the datasets (and with -echarts the script) are here")
	backendConfig := fs.String("backend", "", "also open this backend once, e.g. xla:cpu (with "+backend.AutoInstallEnvVar+"=1 GoMLX downloads its PJRT plugin)")
	echarts := fs.Bool("echarts", false, "also download echarts "+report.EchartsVersion+" (the HTML figures' script) from npm into the user cache")
	registry := fs.String("npm-registry", report.DefaultNPMRegistry, "with -echarts: the npm registry to download from")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: reproduce fetch [flags] [dataset ...]\n\n"+
			"Downloads and verifies the named datasets (%s) into the data cache, opens the -backend\n"+
			"once and fetches -echarts, so that later runs need no network.\n\nflags:\n", strings.Join(data.Names(), ", "))
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError("fetch: %v", err)
	}
	names := fs.Args()
	if len(names) == 0 && *backendConfig == "" && !*echarts {
		return usageError("fetch: name at least one dataset (%s), a -backend or -echarts", strings.Join(data.Names(), ", "))
	}
	for _, name := range names {
		if _, err := data.Describe(name); err != nil {
			return usageError("fetch: %v", err)
		}
	}
	for _, name := range names {
		start := time.Now()
		ds, err := data.Load(ctx, name, data.Options{CacheDir: *dataDir, Offline: *offline})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: %d training and %d test examples, verified (%.1fs)\n",
			name, ds.Train.N, ds.Test.N, time.Since(start).Seconds())
	}
	if *echarts {
		js, err := report.FetchEcharts(ctx, report.EchartsFetch{Registry: *registry, Offline: *offline})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "echarts %s: %s, verified\n", report.EchartsVersion, js)
	}
	if *backendConfig != "" {
		be, err := backend.Open(*backendConfig)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "backend %s: %s\n", *backendConfig, backend.Describe(be))
		be.Finalize()
	}
	return nil
}
