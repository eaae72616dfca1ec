#!/bin/sh
# compare_snn.sh runs bpdl's BenchmarkSNNStep (the study's spiking net) and bench/torch_snn.py (two dense
# PyTorch formulations of the same net, not the study's code, 2 threads) in turn, ROUNDS times each, and
# prints, for each shape and batch, the best examples/s of each and the ratios. Best-of rounds, because on a
# shared machine other jobs only ever slow a run down. The comparison with the study's own code (norse
# 0.0.6) is `reproduce bench -rules snn,snn-tuned -norse DIR`.
#
#   sh bench/compare_snn.sh [ROUNDS] [SECONDS]   (from the module root; default 2 rounds of 10 s)
set -eu
rounds=${1:-2}
seconds=${2:-10}
out=$(mktemp -d)
GOEXPERIMENT=simd go test -c -o "$out/snn.test" ./bpdl/snn
i=1
while [ "$i" -le "$rounds" ]; do
	"$out/snn.test" -test.run '^$' -test.bench '^BenchmarkSNNStep$' -test.benchtime "${seconds}s" |
		awk '/^BenchmarkSNNStep\// { split($1, p, "/"); sub(/batch=/, "", p[3]); sub(/-[0-9]+$/, "", p[3]);
			shape = p[2] == "cifar" ? "cifar10" : p[2];
			for (k = 1; k <= NF; k++) if ($(k+1) == "examples/s") print "go", shape, p[3], $k }' >>"$out/results"
	/usr/bin/python3 bench/torch_snn.py "$seconds" |
		/usr/bin/python3 -c 'import json, sys
for line in sys.stdin:
    r = json.loads(line)
    print("torch-" + r["variant"], r["shape"], r["batch"], r["examples_per_s"])' >>"$out/results"
	i=$((i + 1))
done
cat "$out/results"
awk '{ k = $2 " " $3; if ($4 > best[$1, k]) best[$1, k] = $4; keys[k] = 1 }
	END { printf "%-8s %6s %10s %15s %15s %10s %10s\n", "shape", "batch", "bpdl ex/s", "per-step ex/s", "layerwise ex/s", "ratio ps", "ratio lw"
		for (k in keys) { split(k, a, " "); g = best["go", k]; ps = best["torch-per-step", k]; lw = best["torch-layerwise", k];
			rps = 0; if (ps > 0) rps = g / ps; rlw = 0; if (lw > 0) rlw = g / lw
			printf "%-8s %6s %10.1f %15.2f %15.2f %10.1f %10.1f\n", a[1], a[2], g, ps, lw, rps, rlw } }' \
	"$out/results" | sort -k1,1 -k2,2n
rm -rf "$out"
