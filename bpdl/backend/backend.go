// Package backend opens the GoMLX compute backend that a bpdl run uses.
//
// The pure-Go backend ("go") is the default and needs nothing but this module: it works offline and is
// fast when the program is built with GOEXPERIMENT=simd. GoMLX's XLA backend is used only when the user
// asks for it, with the -backend flag of reproduce or the GOMLX_BACKEND environment variable, for example
//
//	GOMLX_BACKEND=xla:cpu                          (XLA on CPU, plugin installed beforehand)
//	GOMLX_BACKEND=xla:/abs/path/xla_cuda_plugin.so (XLA on an NVIDIA GPU, see the README)
//
// GoMLX's XLA backend normally downloads a missing PJRT plugin from the internet. bpdl switches that
// auto-install off, so that a machine without network access gets a clear error instead of a hang;
// set BPDL_XLA_AUTOINSTALL=1 to allow the download.
package backend

import (
	"fmt"
	"os"
	"reflect"
	"strings"

	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute/gobackend" // the default, pure-Go backend
	"github.com/gomlx/go-xla/compute/xla"
)

// Default is the backend used when neither a flag nor GOMLX_BACKEND names one.
const Default = "go"

// GoDefaultOptions are the options bpdl gives the Go backend when it is named without any ("go"): an
// unlimited worker pool. With GoMLX v0.28's default pool (2*GOMAXPROCS workers) a graph with several
// matrix products ready at once deadlocks: each product runs in a worker and waits inside
// workerspool.Pool.Saturate for a free worker to split its work, and when every worker is such a product
// none ever frees (TestGoBackendPoolDeadlock reproduces it). With no limit, workers never wait for one
// another; each product still splits its work over at most GOMAXPROCS goroutines. bpdl sets it
// without GoMLX's print on standard output (see openGoUnlimited). "go:ops_sequential" runs one op at a time
// instead (slower on large graphs; docs/performance.md has the measurement).
const GoDefaultOptions = "parallelism=-1"

// GoSequential is the Go backend running one op at a time: never more than one matrix product waits for
// workers, so it cannot deadlock either, and GoMLX prints nothing when opening it. It is slower than the
// default on large graphs; the tests and notebooks, whose graphs are small, use it.
const GoSequential = "go:ops_sequential"

// EnvVar is the environment variable GoMLX reads for its backend configuration.
const EnvVar = compute.ConfigEnvVar

// AutoInstallEnvVar, when set to 1, lets GoMLX download a missing XLA PJRT plugin.
const AutoInstallEnvVar = "BPDL_XLA_AUTOINSTALL"

// Resolve returns the backend configuration a run will use: flag if not empty, else $GOMLX_BACKEND if set,
// else Default.
func Resolve(flag string) string {
	if flag != "" {
		return flag
	}
	if v, ok := os.LookupEnv(EnvVar); ok && v != "" {
		return v
	}
	return Default
}

// Open creates the backend named by config ("go", "xla", "xla:cpu", "xla:/path/plugin.so", ...). An empty
// config means Resolve(""). XLA's plugin auto-install is disabled unless BPDL_XLA_AUTOINSTALL=1.
func Open(config string) (b compute.Backend, err error) {
	if config == "" {
		config = Resolve("")
	}
	name, _, _ := strings.Cut(config, ":")
	switch name {
	case "go":
	case "xla", "stablehlo", "shlo", "hlo", "pjrt":
		xla.EnableAutoInstall(os.Getenv(AutoInstallEnvVar) == "1")
	default:
		return nil, fmt.Errorf("backend %q: unknown backend name %q (want \"go\" or \"xla[:plugin]\")", config, name)
	}
	defer func() {
		// GoMLX panics on some configuration errors; turn them into errors.
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("backend %q: %v", config, r)
		}
	}()
	if config == "go" {
		// See GoDefaultOptions. Any explicit option, e.g. "go:ops_sequential", is passed through unchanged.
		return openGoUnlimited()
	}
	b, err = compute.NewWithConfig(config)
	if err != nil {
		if name != "go" {
			return nil, fmt.Errorf("backend %q: %w (bpdl does not download XLA plugins unless %s=1; "+
				"install the PJRT plugin or give its absolute path, e.g. GOMLX_BACKEND=xla:/path/pjrt_c_api_cpu_plugin.so, "+
				"or use the default pure-Go backend with GOMLX_BACKEND=go)", config, err, AutoInstallEnvVar)
		}
		return nil, fmt.Errorf("backend %q: %w", config, err)
	}
	return b, nil
}

// openGoUnlimited opens the Go backend with an unlimited worker pool (GoDefaultOptions). Asked for with
// the "parallelism=-1" option, GoMLX v0.28 prints "Go backend: parallelism set to -1" on standard output,
// where it would corrupt a program's output (reproduce -plan -json); so the backend is opened with its
// defaults and its pool's limit is set the way that option sets it, through the backend's exported Workers
// field (its type lives in an internal package of GoMLX, so it is reached by reflection). Should a later
// GoMLX lack that field, the option is used instead.
func openGoUnlimited() (compute.Backend, error) {
	b, err := compute.NewWithConfig("go")
	if err != nil {
		return nil, fmt.Errorf("backend %q: %w", "go", err)
	}
	if v := reflect.ValueOf(b); v.Kind() == reflect.Pointer && v.Elem().Kind() == reflect.Struct {
		if w := v.Elem().FieldByName("Workers"); w.IsValid() {
			if set := w.MethodByName("SetMaxParallelism"); set.IsValid() && set.Type().NumIn() == 1 && set.Type().In(0).Kind() == reflect.Int {
				set.Call([]reflect.Value{reflect.ValueOf(-1)})
				return b, nil
			}
		}
	}
	b.Finalize()
	if b, err = compute.NewWithConfig("go:" + GoDefaultOptions); err != nil {
		return nil, fmt.Errorf("backend %q: %w", "go", err)
	}
	return b, nil
}

// Describe returns a one-line description of a backend for logs and manifests.
func Describe(b compute.Backend) string {
	return fmt.Sprintf("%s (%s)", b.Name(), b.Description())
}
