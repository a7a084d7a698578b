#!/usr/bin/env bash
# A throw-away single-node SLURM cluster on localhost, for tests/test_slurm.py.
#
#   cluster.sh start DIR   install slurm-wlm + munge if missing, write slurm.conf/gres.conf into DIR,
#                          start munged, slurmctld and slurmd, wait until the node is idle;
#                          DIR/env then holds the SLURM_CONF=... line for client commands
#   cluster.sh stop DIR    stop the daemons started by `start DIR` and remove what it put outside DIR
#
# Exit codes of `start`: 0 ready; 77 SLURM cannot be set up here (reason on stderr, the test skips);
# anything else: the cluster was installed but did not come up (the test fails, logs in DIR).
#
# The node declares 8 CPUs whatever the machine has (SlurmdParameters=config_overrides), so two
# GPU jobs of the profile as shipped (cpus_per_gpu: 4) fit side by side; and two fake GPUs as gres:
# character devices DIR/fakegpu0 and DIR/fakegpu1 (mknod 1:3, i.e. /dev/null), so a job asking
# --gpus=1 runs with SLURM_GPUS_ON_NODE=1 and CUDA_VISIBLE_DEVICES set by the gres plugin.
# Settings: docs/cluster.md ("SLURM profile"). No accounting database: jobs are kept in
# slurmctld's memory for MinJobAge seconds, so `squeue`/`scontrol show job` still see finished jobs.
set -euo pipefail

ETC=/etc/slurm
MARK="# written by mrsr tests/slurm/cluster.sh"

skip() { echo "SKIP: $*" >&2; exit 77; }
die() { echo "ERROR: $*" >&2; exit 1; }

need_packages() {
    local missing=()
    command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null \
        || missing+=(slurm-wlm)
    command -v munged >/dev/null || missing+=(munge)
    [ ${#missing[@]} -eq 0 ] && return 0
    command -v apt-get >/dev/null || skip "${missing[*]} not installed and no apt-get to install them"
    echo "installing ${missing[*]} with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    # a stale package list can name versions the mirror no longer has: update once, then install
    if ! apt-get install -y --no-install-recommends "${missing[@]}" >"$DIR/apt.log" 2>&1; then
        apt-get update >>"$DIR/apt.log" 2>&1 || skip "apt-get update failed (see $DIR/apt.log)"
        apt-get install -y --no-install-recommends "${missing[@]}" >>"$DIR/apt.log" 2>&1 \
            || skip "apt-get install ${missing[*]} failed (see $DIR/apt.log)"
    fi
    command -v slurmctld >/dev/null && command -v munged >/dev/null \
        || skip "slurm-wlm/munge installed but slurmctld or munged not on PATH"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for() {  # wait_for SECONDS COMMAND...: retry COMMAND every half second until it succeeds
    local deadline=$((SECONDS + $1)); shift
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.5
    done
}

node_idle() { [ "$(sinfo -h -N -n "$NODE" -o %T 2>/dev/null)" = idle ]; }

start() {
    [ "$(id -u)" -eq 0 ] || skip "not root: starting slurmctld/slurmd and munged needs root"
    [ -d /proc/1 ] || skip "no /proc"
    mkdir -p "$DIR"
    need_packages
    # slurm.conf must also be found at the default path: the jobstep executor strips SLURM_* (SLURM_CONF
    # included) from the environment of its nested srun. Never overwrite a real cluster's file.
    for name in slurm.conf gres.conf; do
        if [ -e "$ETC/$name" ] && ! grep -qF "$MARK" "$ETC/$name" 2>/dev/null; then
            skip "$ETC/$name exists and is not ours: this machine already has a SLURM configuration"
        fi
    done

    NODE=$(hostname -s)
    local cport dport mem
    cport=$(free_port); dport=$(free_port)
    while [ "$dport" = "$cport" ]; do dport=$(free_port); done
    mem=$(awk '/MemTotal/ {print int($2 / 1024 * 0.8)}' /proc/meminfo)
    mkdir -p "$DIR/state" "$DIR/spool" "$DIR/munge" "$DIR/log"
    chmod 700 "$DIR/munge"

    # munged of our own: private key, socket and pid file, so a system munged is left alone
    dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1024 count=1 status=none
    chmod 600 "$DIR/munge/munge.key"
    munged --force --key-file="$DIR/munge/munge.key" --socket="$DIR/munge/munge.socket" \
        --pid-file="$DIR/munge/munged.pid" --log-file="$DIR/log/munged.log" \
        --seed-file="$DIR/munge/munged.seed" || die "munged did not start (see $DIR/log/munged.log)"
    wait_for 10 munge --socket="$DIR/munge/munge.socket" -n || die "munged is not answering"

    for i in 0 1; do
        mknod "$DIR/fakegpu$i" c 1 3 2>/dev/null || touch "$DIR/fakegpu$i"
    done

    cat >"$DIR/slurm.conf" <<EOF
$MARK (cluster in $DIR)
ClusterName=mrsrtest
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$cport
SlurmdPort=$dport
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$DIR/munge/munge.socket
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MinJobAge=3600
ReturnToService=2
SchedulerParameters=sched_interval=2
SlurmdParameters=config_overrides
GresTypes=gpu
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=8 RealMemory=$mem Gres=gpu:2 State=UNKNOWN
PartitionName=test Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
    cat >"$DIR/gres.conf" <<EOF
$MARK (cluster in $DIR)
NodeName=$NODE Name=gpu File=$DIR/fakegpu[0-1]
EOF
    mkdir -p "$ETC"
    ln -sfn "$DIR/slurm.conf" "$ETC/slurm.conf"
    ln -sfn "$DIR/gres.conf" "$ETC/gres.conf"
    echo "SLURM_CONF=$DIR/slurm.conf" >"$DIR/env"
    export SLURM_CONF="$DIR/slurm.conf"

    slurmctld -c -f "$SLURM_CONF" || die "slurmctld did not start (see $DIR/log/slurmctld.log)"
    wait_for 30 scontrol ping || die "slurmctld is not answering (see $DIR/log/slurmctld.log)"
    slurmd -f "$SLURM_CONF" || die "slurmd did not start (see $DIR/log/slurmd.log)"
    wait_for 60 node_idle || die "node $NODE not idle: $(sinfo -h -N -o '%N %T %E' 2>&1) (see $DIR/log)"
    echo "SLURM cluster up: node $NODE idle, 8 CPUs, gres gpu:2, config $SLURM_CONF" >&2
}

kill_pidfile() {  # kill_pidfile FILE: stop the daemon whose pid FILE holds, wait up to 10 s
    [ -f "$1" ] || return 0
    local pid; pid=$(cat "$1")
    kill "$pid" 2>/dev/null || return 0
    for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
}

stop() {
    [ -f "$DIR/slurm.conf" ] && SLURM_CONF="$DIR/slurm.conf" scancel --state=RUNNING,PENDING \
        --partition=test >/dev/null 2>&1 || true
    kill_pidfile "$DIR/slurmd.pid"
    kill_pidfile "$DIR/slurmctld.pid"
    kill_pidfile "$DIR/munge/munged.pid"
    for name in slurm.conf gres.conf; do
        [ "$(readlink "$ETC/$name" 2>/dev/null)" = "$DIR/$name" ] && rm -f "$ETC/$name"
    done
    return 0
}

[ $# -eq 2 ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }
DIR=$(realpath -m "$2")
case "$1" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
