#!/usr/bin/env bash
# A real Slurm on localhost (issue 18): installs Debian's slurm-wlm and munge, starts munged, slurmctld and
# slurmd with a generated one-node configuration (2 CPUs) in a private folder, submits the job array of
# -quick's plan (slurm/study.sbatch, one run per task) and its report (slurm/report.sbatch, dependent),
# waits for them, and compares the outputs with a single-process reproduce -quick: identical, timings.csv,
# runs/ and PNGs aside, as .ci/run compares two runs. Everything it starts is stopped at the end.
#
#   .ci/slurm-check.sh [REPRODUCE [REFERENCE]]
#
# REPRODUCE is a built reproduce (default: built here); REFERENCE is a folder written by
# `reproduce -quick -offline -brain-data ../shared/data` (default: the committed figures/, which .ci/run
# checks equal to such a run). The check is skipped, with a message and exit status 0, only where Slurm
# cannot start (no apt, daemons that do not come up); any failure after that fails it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export GOEXPERIMENT=simd
start=$(date +%s)

skip() {
	echo "slurm check SKIPPED: $*"
	exit 0
}

if ! command -v sbatch >/dev/null || ! command -v munged >/dev/null || ! command -v slurmd >/dev/null; then
	install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null; }
	install || { apt-get update -qq && install; } || skip "cannot install slurm-wlm and munge with apt-get"
fi

work=$(mktemp -d /tmp/bpdl-slurm.XXXXXX)
chmod 755 "$work"
mkdir -p "$work/state" "$work/spool" "$work/logs" "$work/munge"
export SLURM_CONF=$work/slurm.conf
jobs_submitted=""

# stop ends what this script started, found by the pid files it gave each daemon: the jobs, then slurmd
# and slurmctld, then munged.
stop() {
	set +e
	if [ -n "$jobs_submitted" ]; then
		scancel $jobs_submitted 2>/dev/null
		for _ in $(seq 30); do [ -z "$(squeue -h 2>/dev/null)" ] && break; sleep 1; done
	fi
	for d in slurmd slurmctld munged; do
		[ -f "$work/$d.pid" ] || continue
		pid=$(cat "$work/$d.pid")
		kill "$pid" 2>/dev/null || continue
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
		kill -9 "$pid" 2>/dev/null
	done
	rm -rf "$work"
}
trap stop EXIT

# munge, with its own key and socket, as root (--force: munged prefers its own user).
dd if=/dev/urandom of="$work/munge/munge.key" bs=1024 count=1 status=none
chmod 700 "$work/munge"
chmod 400 "$work/munge/munge.key"
munged --force --socket="$work/munge/munge.socket" --key-file="$work/munge/munge.key" \
	--pid-file="$work/munged.pid" --log-file="$work/logs/munged.log" --seed-file="$work/munge/munged.seed" ||
	skip "munged does not start: $(tail -3 "$work/logs/munged.log" 2>/dev/null)"

host=$(hostname -s)
cat >"$SLURM_CONF" <<EOF
ClusterName=bpdl-ci
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$work/munge/munge.socket
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/logs/slurmctld.log
SlurmdLogFile=$work/logs/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
MinJobAge=3600
SlurmdParameters=config_overrides
NodeName=$host NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=ci Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld || skip "slurmctld does not start: $(tail -5 "$work/logs/slurmctld.log" 2>/dev/null)"
slurmd || skip "slurmd does not start: $(tail -5 "$work/logs/slurmd.log" 2>/dev/null)"
for i in $(seq 60); do
	state=$(sinfo -h -n "$host" -o %T 2>/dev/null || true)
	[ "$state" = idle ] && break
	[ "$i" = 60 ] && skip "the node is not idle after 60 s (state '$state'): $(tail -5 "$work/logs/slurmd.log" 2>/dev/null)"
	sleep 1
done
echo "slurm: $(sinfo --version), node $host idle with $(sinfo -h -o %c) CPUs"

# The study: the job array over -quick's plan and the report, as slurm/README.md says, from the repository
# root (../shared/data is relative to it).
bin=${1:-}
if [ -z "$bin" ]; then
	bin=$work/reproduce
	go build -o "$bin" ./reproduce
fi
ref=${2:-figures}
export BPDL_REPRODUCE=$bin BPDL_OUT=$work/out
unset BPDL_BACKEND
quick=(-quick -offline -brain-data ../shared/data)
runs=$("$bin" -plan -json "${quick[@]}" -out "$BPDL_OUT" 2>/dev/null | grep -c '"id":')
jid=$(sbatch --parsable --array=0-$((runs - 1)) --output="$work/logs/%x-%A_%a.out" slurm/study.sbatch "${quick[@]}")
jobs_submitted=$jid
rid=$(sbatch --parsable --dependency=afterany:"$jid" --output="$work/logs/%x-%j.out" slurm/report.sbatch "${quick[@]}")
jobs_submitted="$jid $rid"
echo "submitted the array $jid (tasks 0-$((runs - 1))) and the report $rid"
deadline=$((SECONDS + 1800))
while [ -n "$(squeue -h -j "$jid,$rid" 2>/dev/null)" ]; do
	if [ $SECONDS -gt $deadline ]; then
		echo "slurm jobs still queued after 30 minutes:"; squeue; tail -n 20 "$work"/logs/*.out
		exit 1
	fi
	sleep 2
done
jobs_submitted=""
failed=0
while read -r line; do # one line per job, and per task of the array
	field() { grep -o " $1=[^ ]*" <<<" $line" | cut -d= -f2; }
	echo "  job $(field JobId) $(field JobName)$(field ArrayTaskId | sed 's/^/ task /'): $(field JobState) (exit $(field ExitCode))"
	if [ "$(field JobState)" != COMPLETED ]; then failed=1; fi
done < <(scontrol show job -o "$jid"; scontrol show job -o "$rid")
if [ $failed = 1 ]; then
	for f in "$work"/logs/*.out; do echo "== $f"; tail -n 20 "$f"; done
	echo "slurm check FAILED: a job did not complete"
	exit 1
fi
diff -r -x timings.csv -x runs -x '*.png' -x README.md -x MANIFEST -x 'echarts.*' "$BPDL_OUT" "$ref" # figures/ holds no echarts
diff <(grep -v '^bpdl: ' "$BPDL_OUT/MANIFEST") <(grep -v '^bpdl: ' "$ref/MANIFEST")
echo "slurm check passed: the job array's tables, figures and MANIFEST equal the single-process run's ($ref), in $(($(date +%s) - start)) s"
