#!/usr/bin/env bash
# Installs what the notebooks need, idempotently: Jupyter (Debian packages), the GoNB Go kernel v0.11.5
# with goimports and gopls (Go tools, into $(go env GOPATH)/bin), the kernel's Jupyter spec, the pinned
# echarts JavaScript (npm ci into the repository's node_modules) and, with --chromium, headless Chromium
# for screenshots. Run as root (apt-get) on Debian; safe to run again: what is there is skipped.
#
#   bash notebooks/install.sh            # Jupyter, GoNB, echarts
#   bash notebooks/install.sh --chromium # also Chromium
#   bash notebooks/install.sh --no-gopls # without gopls (GoNB's auto-complete), enough for headless runs
#
# Afterwards put $(go env GOPATH)/bin on PATH for Jupyter (run.sh does this itself).
set -euo pipefail

GONB_VERSION=v0.11.5
GOPLS_VERSION=v0.23.0
GOIMPORTS_VERSION=v0.45.0 # of golang.org/x/tools

with_chromium=0
with_gopls=1
for a in "$@"; do
  case "$a" in
    --chromium) with_chromium=1 ;;
    --no-gopls) with_gopls=0 ;;
    *) echo "install.sh: unknown argument $a" >&2; exit 2 ;;
  esac
done

export DEBIAN_FRONTEND=noninteractive
nbdir="$(cd "$(dirname "$0")" && pwd)"
gobin="$(go env GOPATH)/bin"
export PATH="$gobin:$PATH"

# apt_install PKG...: installs the packages not installed yet. Another apt-get may hold the lock for a
# while (on a shared machine): wait for it rather than fail.
apt_install() {
  local missing=() p try
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "install.sh: apt-get install ${missing[*]}"
  for try in 1 2 3 4 5 6; do
    if apt-get -o DPkg::Lock::Timeout=300 update -qq &&
      apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
      return 0
    fi
    sleep 30
  done
  echo "install.sh: apt-get install ${missing[*]} failed" >&2
  return 1
}

pkgs=(jupyter-notebook jupyter-nbconvert python3-nbclient python3-ipykernel)
[ "$with_chromium" = 1 ] && pkgs+=(chromium)
apt_install "${pkgs[@]}"

# GoNB. `go install ...@version` needs the proxy's version list, which is not always served; so the module
# is resolved in a throwaway module and installed from there (never from bpdl's go.mod).
if ! { command -v gonb >/dev/null && gonb --version 2>&1 | grep -q "$GONB_VERSION"; }; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (
    cd "$tmp"
    go mod init gonb-install >/dev/null 2>&1
    go get "github.com/janpfeifer/gonb@$GONB_VERSION"
    go install github.com/janpfeifer/gonb
  )
fi
if [ "$with_gopls" = 1 ]; then
  command -v gopls >/dev/null || go install "golang.org/x/tools/gopls@$GOPLS_VERSION"
fi
command -v goimports >/dev/null || go install "golang.org/x/tools/cmd/goimports@$GOIMPORTS_VERSION"

# echarts, pinned by the repository's package-lock.json (the version package report uses), embedded in
# the notebooks' chart outputs (no CDN).
root="$(cd "$nbdir/.." && pwd)"
if [ ! -f "$root/node_modules/echarts/dist/echarts.common.min.js" ]; then
  command -v npm >/dev/null || apt_install npm
  npm ci --prefix "$root" --no-audit --no-fund --loglevel=error
fi

# The kernel spec (in Jupyter's data folder, kernels/gonb), written each time: cheap, and it records
# gonb's path.
force=()
command -v gopls >/dev/null || force=(--force_deps) # gonb --install insists on gopls otherwise
gonb --install "${force[@]}" >/dev/null 2>&1
spec="$(/usr/bin/python3 -c 'import jupyter_core.paths as p; print(p.jupyter_data_dir())')/kernels/gonb/kernel.json"
[ -f "$spec" ] || { echo "install.sh: gonb --install wrote no $spec" >&2; exit 1; }
echo "install.sh: $(gonb --version 2>&1 | head -1); $(gopls version 2>/dev/null | head -1 || echo no gopls); goimports in $gobin; kernel spec $spec"
