#!/bin/sh
# chunk_gpu.sh measures training chunks on an NVIDIA GPU through XLA (docs/chunks.md): the examples/s of
# every MLP rule's training step on the study's CIFAR-10 net with one step per backend call (K=1) and with
# the default 100 (K=100-while, what reproduce runs), then checks what holds between the two on XLA
# (TestChunkOnBackend: identical bits or not, the largest difference after one epoch of 400 examples).
#
#   sh bench/chunk_gpu.sh [SECONDS] [PATTERN]   (from the module root; default 3 s per measurement, and
#                                                 PATTERN 'cifar10/.*/.*/K=(1|100-while)$'; add
#                                                 '|10-unrolled|100-unrolled' to compare the unrolled chunk)
#
# The CUDA plugin and NVIDIA libraries come from a JAX installation, as in the README's Backends section
# ($SITE: its site-packages, found with python3 unless set). Without Go on the GPU machine, build the test
# binary elsewhere (GOEXPERIMENT=simd go test -c -o train.test ./bpdl/train) and set TRAIN_TEST to it.
set -eu
seconds=${1:-3}
pattern=${2:-'cifar10/.*/.*/K=(1|100-while)$'}
SITE=${SITE:-$(python3 -c 'import jax, os; print(os.path.dirname(os.path.dirname(jax.__file__)))')}
BPDL_BENCH_BACKEND=xla:$(ls "$SITE"/jax_plugins/xla_cuda*/xla_cuda_plugin.so)
LD_LIBRARY_PATH=$(ls -d "$SITE"/nvidia/*/lib | paste -sd:)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
GOPJRT_CUDA_CHECKS=0
export BPDL_BENCH_BACKEND LD_LIBRARY_PATH GOPJRT_CUDA_CHECKS
if [ -z "${TRAIN_TEST:-}" ]; then
	TRAIN_TEST=$(mktemp -d)/train.test
	GOEXPERIMENT=simd go test -c -o "$TRAIN_TEST" ./bpdl/train
fi
cd bpdl/train # where go test runs the package's tests
status=0
"$TRAIN_TEST" -test.run '^$' -test.bench "^BenchmarkChunk\$/$pattern" -test.benchtime "${seconds}s" || status=1
"$TRAIN_TEST" -test.run '^TestChunkOnBackend$' -test.v -test.count 1 || status=1
exit $status
