#!/usr/bin/env bash
# Run by the first code cell of every notebook (GoNB's `!*`, in the folder of the Go module that GoNB builds
# the cells in): points that module at the bpdl checkout holding the notebooks, so that the cells compile
# against this checkout's code (notebooks/nb and bpdl/...), and pins gonbui to the kernel's version (that of
# install.sh's GONB_VERSION).
set -euo pipefail
root="$(cd "${GONB_DIR:?GONB_DIR is not set: run this from a GoNB cell}/.." && pwd)"
go mod edit -replace=github.com/bpdl/bpdl="$root" -require=github.com/bpdl/bpdl@v0.0.0-00010101000000-000000000000
out=$(go get github.com/janpfeifer/gonb@v0.11.5 2>&1) || { echo "$out" >&2; exit 1; }
echo "github.com/bpdl/bpdl: the checkout that holds this notebook"
