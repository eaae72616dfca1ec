#!/bin/sh
# compare.sh runs bpdl's BenchmarkStep and the PyTorch reference (bench/torch_rules.py) in turn, ROUNDS
# times each, and prints, for each rule and batch, the best examples/s of each and their ratio. Best-of
# rounds, because on a shared machine other jobs only ever slow a run down.
#
#   sh bench/compare.sh [ROUNDS [THREADS]]   (from the module root; default 3 rounds, 2 threads)
#
# THREADS sets both torch.set_num_threads and the Go runtime's GOMAXPROCS. On a machine shared with other
# jobs, THREADS=1 gives the steadier comparison: PyTorch's OpenMP threads lose most of their speed when a
# core is taken away from them.
set -eu
rounds=${1:-3}
threads=${2:-2}
out=$(mktemp -d)
GOEXPERIMENT=simd go test -c -o "$out/rules.test" ./bpdl/rules
i=1
while [ "$i" -le "$rounds" ]; do
	GOMAXPROCS=$threads "$out/rules.test" -test.run '^$' -test.bench 'Step/(bp|fa|dfa|dtp)/' -test.benchtime 2s |
		awk '/^BenchmarkStep/ { split($1, p, "/"); sub(/batch=/, "", p[3]); sub(/-[0-9]+$/, "", p[3]);
			for (k = 1; k <= NF; k++) if ($(k+1) == "examples/s") print "go", p[2], p[3], $k }' >>"$out/results"
	/usr/bin/python3 bench/torch_rules.py 2 "$threads" |
		sed 's/[{}",:]/ /g' | awk '{ print "torch", $2, $4, $6 }' >>"$out/results"
	i=$((i + 1))
done
printf "%-6s %6s %12s %12s %7s\n" rule batch "bpdl ex/s" "torch ex/s" ratio
awk '{ k = $2 " " $3; if ($4 > best[$1, k]) best[$1, k] = $4; keys[k] = 1 }
	END { for (k in keys) { split(k, a, " "); if (best["torch", k] > 0)
		printf "%-6s %6s %12.1f %12.1f %7.2f\n", a[1], a[2], best["go", k], best["torch", k], best["go", k] / best["torch", k] } }' \
	"$out/results" | sort -k1,1 -k2,2n
echo "(best examples/s over $rounds rounds, $threads threads each)"
rm -rf "$out"
