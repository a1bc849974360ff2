#!/usr/bin/env bash
# `make test-cluster`: the pipeline through profiles/slurm on a real single-node SLURM.
# Installs Debian's SLURM and munge when missing, starts munge, slurmctld and slurmd on this host
# (the node advertises two GPUs backed by character devices, two shards each: GPU rules get a GPU,
# training a shard, and all run on CPU),
# runs the tiny dataset of tests/cluster/config.yaml to its table, checks it, and stops every daemon
# it started, also on failure. Every wait is bounded. Needs root (slurmd, mknod).
#   PYTHON  the Python of the environment to test (default: .venv/bin/python)
#   KEEP=1  keep the scratch folder (configuration, logs, the run) for inspection
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
PYTHON=${PYTHON:-$REPO/.venv/bin/python}
SNAKEMAKE=$(dirname "$PYTHON")/snakemake
RUN_LIMIT=${RUN_LIMIT:-900}            # seconds for the whole snakemake run
SCRATCH=$(mktemp -d /tmp/mcd-slurm.XXXXXX)
PIDFILES=()                            # of the daemons this script started, in start order
CREATED=()                             # device nodes and links this script created

say() { echo "[test-cluster $(date +%H:%M:%S)] $*"; }

wait_for() {  # wait_for SECONDS WHAT COMMAND...: poll every second, fail after SECONDS
  local limit=$1 what=$2 deadline=$((SECONDS + $1))
  shift 2
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then say "gave up after ${limit} s waiting for $what"; return 1; fi
    sleep 1
  done
}

stop_daemon() {  # TERM the PID in the file, KILL it after 15 s
  local pidfile=$1 pid
  [[ -s $pidfile ]] || return 0
  pid=$(cat "$pidfile")
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 15); do kill -0 "$pid" 2>/dev/null || return 0; sleep 1; done
  say "$pidfile: $pid did not stop in 15 s, killing it"
  kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  set +e  # stop every daemon, whatever else fails here
  if ((status != 0)); then
    for log in "$SCRATCH"/slurmctld.log "$SCRATCH"/slurmd.log "$SCRATCH"/snakemake.log; do
      [[ -f $log ]] && { say "last lines of $log:"; tail -n 40 "$log"; }
    done
    find "$SCRATCH/work/.snakemake/slurm_logs" -name '*.log' 2>/dev/null | head -n 20 | while read -r log; do
      say "last lines of $log:"; tail -n 15 "$log"
    done
  fi
  for ((i = ${#PIDFILES[@]} - 1; i >= 0; i--)); do stop_daemon "${PIDFILES[i]}"; done
  for path in "${CREATED[@]}"; do rm -f "$path"; done
  if [[ ${KEEP:-0} == 1 ]]; then say "kept $SCRATCH"; else rm -rf "$SCRATCH"; fi
  say "stopped the daemons it started; exit status $status"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[[ $(id -u) == 0 ]] || { say "needs root (slurmd runs jobs as root; mknod)"; exit 1; }
[[ -x $SNAKEMAKE ]] || { say "no snakemake beside $PYTHON: run \`make test-cluster\` (installs .[slurm])"; exit 1; }

if pgrep -x slurmctld >/dev/null || pgrep -x slurmd >/dev/null; then
  say "a slurmctld or slurmd already runs on this host: stop it first (this test starts its own)"
  exit 1
fi

# --- SLURM and munge: Debian's packages, nothing started by the packages themselves ---------------
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
  say "installing slurmctld slurmd slurm-client munge"
  timeout 300 apt-get update -qq
  DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq --no-install-recommends \
    slurmctld slurmd slurm-client munge >/dev/null
fi

munge_works() { munge -n | unmunge; }
if munge_works >/dev/null 2>&1; then
  say "munged already runs here: using it"
else
  install -d -o munge -g munge -m 0755 /run/munge
  install -d -o munge -g munge -m 0700 /var/log/munge /var/lib/munge
  if [[ ! -s /etc/munge/munge.key ]]; then mungekey --create --force; fi
  chown munge:munge /etc/munge/munge.key && chmod 0400 /etc/munge/munge.key
  PIDFILES+=(/run/munge/munged.pid)
  runuser -u munge -- /usr/sbin/munged
  wait_for 20 "munge" munge_works
fi

# --- a single-node cluster with two advertised GPUs ----------------------------------------------
for i in 0 1; do
  if [[ ! -e /dev/fakegpu$i ]]; then mknod "/dev/fakegpu$i" c 1 $((3 + 2 * i)); CREATED+=("/dev/fakegpu$i"); fi
done
mkdir -p "$SCRATCH/state" "$SCRATCH/spool" "$SCRATCH/work"
node=$(slurmd -C | head -n 1)
cat >"$SCRATCH/slurm.conf" <<CONF
ClusterName=mcdtest
SlurmctldHost=$(hostname -s)
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=$SCRATCH/state
SlurmdSpoolDir=$SCRATCH/spool
SlurmctldPidFile=$SCRATCH/slurmctld.pid
SlurmdPidFile=$SCRATCH/slurmd.pid
SlurmctldLogFile=$SCRATCH/slurmctld.log
SlurmdLogFile=$SCRATCH/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
MailProg=/bin/true
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=512
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
# Finished jobs stay listed (the checks read them; the executor's squeue status needs >= 3 x 1 s).
MinJobAge=3600
ReturnToService=2
GresTypes=gpu,shard
$node Gres=gpu:2,shard:4 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
# Two shards a GPU: train jobs ask for one (MCD_SLURM_TRAIN_SHARDS=1), so two runs could share a card
printf '%s\n' "Name=gpu File=/dev/fakegpu[0-1]" "Name=shard Count=4 File=/dev/fakegpu[0-1]" >"$SCRATCH/gres.conf"
export SLURM_CONF=$SCRATCH/slurm.conf
# Inside a batch job SLURM_CONF is not passed on: the executor's `srun` there reads the default
# /etc/slurm/slurm.conf, which therefore points at this configuration while the test runs.
if [[ -e /etc/slurm/slurm.conf || -L /etc/slurm/slurm.conf ]]; then
  say "/etc/slurm/slurm.conf exists: this host has a SLURM of its own; not touching it"
  exit 1
fi
mkdir -p /etc/slurm
CREATED+=(/etc/slurm/slurm.conf)
ln -s "$SLURM_CONF" /etc/slurm/slurm.conf

PIDFILES+=("$SCRATCH/slurmctld.pid")
slurmctld
wait_for 30 "slurmctld" scontrol ping
PIDFILES+=("$SCRATCH/slurmd.pid")
slurmd
node_idle() { [[ $(sinfo -h -N -o %T) == idle ]]; }
wait_for 30 "the node to be idle" node_idle
say "SLURM up: $(sinfo -h -N -o '%N %T cpus=%c mem=%m gres=%G')"

# --- the tiny dataset through profiles/slurm ---------------------------------------------------
# Threads are set to the 2 cores of this node (the profile's 8/4 are for real cluster nodes); the
# status command is squeue because this cluster has no accounting database (sacct would hang).
say "snakemake --profile profiles/slurm (limit ${RUN_LIMIT} s)"
start=$SECONDS
cd "$SCRATCH/work"
MCD_SLURM_TRAIN_SHARDS=1 timeout -k 10 "$RUN_LIMIT" "$SNAKEMAKE" results/cluster/table3.csv --snakefile "$REPO/Snakefile" \
  --profile "$REPO/profiles/slurm" --configfile "$REPO/tests/cluster/config.yaml" --jobs 4 \
  --slurm-status-command squeue --slurm-init-seconds-before-status-checks 1 \
  --set-threads extract_visual=2 frames=2 audio=2 >"$SCRATCH/snakemake.log" 2>&1
say "pipeline finished in $((SECONDS - start)) s"

scontrol show job -o >"$SCRATCH/jobs.txt"
"$PYTHON" "$REPO/tests/cluster/check_run.py" "$SCRATCH/jobs.txt" results/cluster/table3.csv
cat results/cluster/table3.md
