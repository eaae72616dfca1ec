#!/usr/bin/env bash
# docker-check: builds the repository's Dockerfile without a Docker engine, with buildah, against a
# locally made stand-in for golang:1.26-bookworm (a Debian bookworm root filesystem from mmdebstrap
# plus this machine's Go 1.26 toolchain), with --build-arg OFFLINE=1; then runs smoke checks, a
# notebook, a tiny study and the test suite inside the image, as the image's non-root user. ../shared
# is not in the image, so the tests that need it skip, saying so. docs/docker.md has the details.
#
#   .ci/docker-check.sh
#
# It exits 0 without checking anything, after a line starting "docker-check: SKIP", where buildah and
# mmdebstrap are missing and cannot be installed (apt-get as root). The stand-in base (a root
# filesystem tarball) and buildah's own image store with every step's layer (up to about 20 GB) are
# kept between runs in $BPDL_DOCKER_CACHE (default ${XDG_CACHE_HOME:-/var/tmp}/bpdl-docker-check), so
# only the first run bootstraps Debian, and a run rebuilds only from the first step whose input changed.
#
# Environment:
#   BPDL_DOCKER_CACHE       the cache folder above
#   BPDL_DOCKER_INSTALL=0   never apt-get install buildah and mmdebstrap
#   BPDL_DOCKER_BUILD_ARGS  more arguments for `buildah bud`, e.g. "--build-arg NOTEBOOKS=0"
#   BPDL_DOCKER_DRIVER      buildah storage driver: overlay (default; vfs is used when overlay fails)
#   BPDL_DOCKER_MAX_GB      drop earlier builds' cached layers when the storage outgrows this (default 20)
#   BPDL_DOCKER_NOTEBOOKS   notebooks to execute and check inside the image with notebooks/run.sh
#                           (default 01-backprop.ipynb, about a minute; empty for none: CI runs them all
#                           on the host)
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "docker-check: $*"; }
skip() {
	log "SKIP: $*"
	exit 0
}
start=$(date +%s)
elapsed() { echo "$(($(date +%s) - start))s"; }

# ---- tools ---------------------------------------------------------------------------------------
if ! command -v buildah >/dev/null || ! command -v mmdebstrap >/dev/null; then
	if [ "${BPDL_DOCKER_INSTALL:-1}" != 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		log "installing buildah and mmdebstrap with apt-get"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends \
			buildah mmdebstrap uidmap fuse-overlayfs >/dev/null ||
			skip "buildah/mmdebstrap could not be installed with apt-get"
	else
		skip "buildah and mmdebstrap are not installed (and not installable here: need root and apt-get)"
	fi
fi
command -v go >/dev/null || skip "no Go toolchain on this machine to put into the stand-in base image"
goversion=$(go env GOVERSION)
goroot=$(go env GOROOT)
case "$goversion" in
go1.26*) ;;
*) skip "the stand-in base needs Go 1.26 (the Dockerfile's golang:1.26-bookworm); this machine has $goversion" ;;
esac

cache=${BPDL_DOCKER_CACHE:-${XDG_CACHE_HOME:-/var/tmp}/bpdl-docker-check}
mkdir -p "$cache"
# One run at a time per cache: runs share the image name and the logs.
exec 9>"$cache/lock"
if ! flock -n 9; then
	log "another docker-check is using $cache: waiting for it"
	flock 9
fi
driver=${BPDL_DOCKER_DRIVER:-overlay}
bah() { buildah --root "$cache/storage-$driver" --runroot "$cache/run-$driver" --storage-driver "$driver" "$@"; }
if ! probe=$(bah from scratch 2>/dev/null) || ! bah rm "$probe" >/dev/null 2>&1; then
	[ "$driver" = vfs ] && skip "buildah cannot create containers here, even with the vfs driver"
	log "storage driver $driver does not work here; using vfs"
	driver=vfs
fi
log "buildah $(buildah --version | awk '{print $3}'), storage $driver in $cache, $goversion from $goroot"

containers=()
cleanup() {
	for c in "${containers[@]}"; do bah rm "$c" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT

# ---- the stand-in for golang:1.26-bookworm --------------------------------------------------------
# The official image is buildpack-deps:bookworm-scm (curl, git, ca-certificates, ...) plus gcc, g++,
# libc6-dev, make, pkg-config and Go in /usr/local/go, with GOPATH=/go (mode 1777) and GOTOOLCHAIN=local.
base=localhost/golang:1.26-bookworm
packages=ca-certificates,curl,wget,git,gcc,g++,libc6-dev,make,pkg-config,netbase,procps,xz-utils,gnupg
key=$(printf '%s\n' "$goversion" "$packages" bookworm v2 | sha256sum | cut -c1-16)
have=$(bah inspect --type image --format '{{index .OCIv1.Config.Labels "bpdl.standin"}}' "$base" 2>/dev/null || true)
if [ "$have" = "$key" ]; then
	log "stand-in base $base is cached ($key)"
else
	rootfs=$cache/bookworm-$key.tar
	if [ ! -s "$rootfs" ]; then
		log "bootstrapping Debian bookworm with mmdebstrap (a few minutes, once)"
		rm -rf "$cache"/bookworm-*.tar "$cache"/bookworm-*.tar.tmp
		mmdebstrap --quiet --format=tar --variant=minbase --include="$packages" bookworm "$rootfs.tmp" \
			"deb http://deb.debian.org/debian bookworm main" \
			"deb http://deb.debian.org/debian bookworm-updates main" \
			"deb http://deb.debian.org/debian-security bookworm-security main"
		mv "$rootfs.tmp" "$rootfs"
	fi
	log "importing the stand-in base as $base"
	c=$(bah from scratch)
	containers+=("$c")
	bah add "$c" "$rootfs" / >/dev/null
	bah copy "$c" "$goroot" /usr/local/go >/dev/null
	# This machine's trusted certificates, among them any of a TLS-intercepting proxy that its network
	# goes through (Go module downloads would fail without), added to Debian's own.
	bah copy "$c" /etc/ssl/certs/ca-certificates.crt /usr/local/share/ca-certificates/build-host.crt >/dev/null
	bah run --isolation chroot "$c" -- sh -c 'update-ca-certificates >/dev/null && mkdir -p /go/src /go/bin && chmod -R 1777 /go'
	bah config --env PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		--env GOLANG_VERSION="${goversion#go}" --env GOTOOLCHAIN=local --env GOPATH=/go \
		--workingdir /go --cmd bash --label bpdl.standin="$key" "$c"
	bah commit --quiet --rm "$c" "$base" >/dev/null
	containers=()
	bah rmi --prune >/dev/null 2>&1 || true
fi
log "base ready ($(elapsed))"

# ---- the image -------------------------------------------------------------------------------------
image=localhost/bpdl:docker-check
# buildah keeps every step's layer (--layers) so that the next run rebuilds only from the first step
# whose input changed; past BPDL_DOCKER_MAX_GB (default 20) of storage, the old ones go.
used=$(du -s -B1G "$cache/storage-$driver" 2>/dev/null | cut -f1)
if [ "${used:-0}" -gt "${BPDL_DOCKER_MAX_GB:-20}" ]; then
	log "storage holds ${used} GB: removing the cached layers of earlier builds (the base stays)"
	bah rmi "$image" >/dev/null 2>&1 || true
	bah rmi --prune >/dev/null 2>&1 || true
fi
# OFFLINE=1: GitHub (the XLA plugin) and the dataset hosts may be out of reach. GOPLS=0 saves about two
# minutes of a build from scratch; gopls is a plain `go install`, and GoNB runs without it.
build_args=(--build-arg GO_IMAGE="$base" --build-arg OFFLINE=1 --build-arg GOPLS=0)
log "building the Dockerfile: buildah bud ${build_args[*]} ${BPDL_DOCKER_BUILD_ARGS:-}"
# shellcheck disable=SC2086 # BPDL_DOCKER_BUILD_ARGS is split on purpose.
bah bud --isolation chroot --layers --force-rm --pull-never "${build_args[@]}" ${BPDL_DOCKER_BUILD_ARGS:-} \
	-f Dockerfile -t "$image" . 2>&1 | while IFS= read -r line; do printf '  | %(%T)T %s\n' -1 "$line"; done
[ "${PIPESTATUS[0]}" = 0 ] || { log "FAIL: the image did not build"; exit 1; }
log "image built ($(elapsed)): $(bah images --format '{{.Size}}' "$image") "

# ---- inside the image ------------------------------------------------------------------------------
c=$(bah from --pull-never "$image")
containers+=("$c")
inside() { bah run --isolation chroot --user bpdl --workingdir /work "$c" -- "$@"; }

log "smoke checks as $(inside id -un): reproduce, datasets offline, backend, Jupyter kernel"
inside reproduce -h >/dev/null 2>&1 || { log "FAIL: reproduce -h"; exit 1; }
inside reproduce fetch -offline -backend go mnist fashion
if inside sh -c 'command -v jupyter' >/dev/null; then
	inside jupyter kernelspec list 2>/dev/null | grep -q gonb || { log "FAIL: the GoNB kernel is not installed"; exit 1; }
	log "jupyter notebook $(inside jupyter notebook --version 2>/dev/null): executing a one-cell Go notebook with GoNB"
	inside python3 -c '
import nbformat as nbf
nb = nbf.v4.new_notebook(metadata={"kernelspec": {"name": "gonb", "display_name": "Go (gonb)", "language": "go"}})
nb.cells = [nbf.v4.new_code_cell("%%\nfmt.Println(\"gonb says\", 6*7)")]
nbf.write(nb, "/tmp/check.ipynb")'
	inside jupyter nbconvert --to notebook --execute --ExecutePreprocessor.timeout=600 \
		--output /tmp/check-out.ipynb /tmp/check.ipynb >/dev/null 2>&1 || { log "FAIL: nbconvert --execute"; exit 1; }
	inside grep -q 'gonb says 42' /tmp/check-out.ipynb || { log "FAIL: the GoNB cell printed nothing"; exit 1; }
	log "the GoNB notebook ran"
fi

notebooks=${BPDL_DOCKER_NOTEBOOKS-01-backprop.ipynb}
if [ -n "$notebooks" ] && inside sh -c 'command -v jupyter' >/dev/null; then
	log "notebooks/run.sh $notebooks inside the image"
	# shellcheck disable=SC2086 # a list of notebooks
	inside bash notebooks/run.sh $notebooks 2>&1 | sed 's/^/  | /'
	[ "${PIPESTATUS[0]}" = 0 ] || { log "FAIL: notebooks/run.sh inside the image"; exit 1; }
fi

# As `docker run -u "$(id -u):$(id -g)"` runs it: a uid the image does not know.
log "a tiny study as the default command runs it, as uid 4321 (MNIST, 600 images, 1 epoch, every rule)"
bah run --isolation chroot --user 4321:4321 --workingdir /work "$c" -- \
	reproduce -quick -offline -train-limit 600 -epochs 1 -out /out/figures >"$cache/last-study.log" 2>&1 ||
	{ tail -n 20 "$cache/last-study.log"; log "FAIL: the tiny study"; exit 1; }
tr '\r' '\n' <"$cache/last-study.log" | grep -v -e '^ *$' -e ' loss .*%' | tail -n 3 | sed 's/^/  | /'
inside test -s /out/figures/MANIFEST || { log "FAIL: the study wrote no /out/figures/MANIFEST"; exit 1; }
inside sh -c 'ls /out/figures/*.html' >/dev/null 2>&1 || { log "FAIL: the study wrote no HTML figure"; exit 1; }
if inside sh -c 'command -v chromium' >/dev/null; then
	inside sh -c 'ls /out/figures/*.png' >/dev/null 2>&1 || { log "FAIL: chromium is in the image, but the study wrote no PNG"; exit 1; }
fi
log "it wrote: $(inside ls /out/figures | tr '\n' ' ')"

log "the test suite: GOEXPERIMENT=simd go test ./... (no ../shared in the image)"
testlog=$cache/last-test.log
if inside go test -v ./... >"$testlog" 2>&1; then status=0; else status=$?; fi
grep -E '^(ok|FAIL|\?|panic)' "$testlog" | sed 's/^/  | /'
count() { grep -c -- "$1" "$testlog" || true; }
log "tests: $(count '--- PASS') passed, $(count '--- SKIP') skipped, $(count '--- FAIL') failed; skip reasons (most frequent first):"
{ grep -B1 -- '--- SKIP' "$testlog" | sed 's/^ *//' | grep -v -e '^--- ' -e '^--$' -e '^=== ' |
	sed 's/^[a-z0-9_]*\.go:[0-9]*: //' | sort | uniq -c | sort -rn | head -8 | sed 's/^/  | /'; } || true
log "full test output: $testlog"
if [ "$status" != 0 ]; then
	log "FAIL: tests failed inside the image ($(elapsed))"
	exit 1
fi
log "OK: image built and tested in $(elapsed)"
