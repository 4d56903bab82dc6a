#!/usr/bin/env bash
# A single-node Slurm cluster on localhost for robbench's tests:
#
#   scripts/slurm-test-cluster.sh start   # prints `export SLURM_CONF=...` on success
#   scripts/slurm-test-cluster.sh stop
#   scripts/slurm-test-cluster.sh env     # the export line of a running cluster
#
# Installs Debian's slurm-wlm and munge with apt-get when missing, writes a
# munge key and a slurm.conf (the node's real CPU count and memory,
# proctrack/linuxproc, task/none, select/cons_tres, no accounting database)
# under $ROBBENCH_SLURM_DIR (default /var/tmp/robbench-slurm), starts munged,
# slurmctld and slurmd without systemd and waits until `sinfo` shows the node
# idle. Everything binds to 127.0.0.1 (ports $ROBBENCH_SLURM_PORT and the next,
# default 6817 and 6818). Exit status 3: the ports are taken, the packages
# cannot be installed, a daemon does not start or the node never becomes idle
# (the reason is on stderr, with the daemons' output and the end of their logs).
set -euo pipefail

DIR=${ROBBENCH_SLURM_DIR:-/var/tmp/robbench-slurm}
CONF=$DIR/etc/slurm.conf
SOCKET=$DIR/munge/munge.socket
CTLD_PORT=${ROBBENCH_SLURM_PORT:-6817}
SLURMD_PORT=$((CTLD_PORT + 1))

die() { echo "slurm-test-cluster: $*" >&2; exit 3; }
say() { echo "slurm-test-cluster: $*" >&2; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo -n "$@"
    else return 1
    fi
}

install_packages() {
    local missing=()
    command -v munged >/dev/null || missing+=(munge)
    command -v slurmctld >/dev/null || missing+=(slurmctld)
    command -v slurmd >/dev/null || missing+=(slurmd)
    command -v sbatch >/dev/null || missing+=(slurm-client)
    [ ${#missing[@]} = 0 ] && return 0
    command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get to install them"
    say "installing ${missing[*]} (slurm-wlm) with apt-get"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        slurm-wlm munge "${missing[@]}" >"$DIR/apt.log" 2>&1 ||
        { as_root apt-get update >>"$DIR/apt.log" 2>&1 &&
            as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
                slurm-wlm munge "${missing[@]}" >>"$DIR/apt.log" 2>&1; } ||
        die "apt-get could not install ${missing[*]} (needs root or passwordless sudo; log: $DIR/apt.log)"
}

# The node's real resources, as slurmd itself sees them (so slurmd accepts the config).
node_line() {
    local cpus mem
    cpus=$(nproc --all)
    mem=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
    echo "NodeName=localhost NodeAddr=127.0.0.1 NodeHostname=localhost CPUs=$cpus RealMemory=$mem State=UNKNOWN"
}

write_config() {
    mkdir -p "$DIR"/{etc,munge,state,spool,log,run}
    chmod 0700 "$DIR/munge"
    if [ ! -s "$DIR/etc/munge.key" ]; then
        head -c 1024 /dev/urandom >"$DIR/etc/munge.key"
    fi
    chmod 0600 "$DIR/etc/munge.key"
    cat >"$CONF" <<EOF
# Written by scripts/slurm-test-cluster.sh: a one-node test cluster on localhost.
ClusterName=robbench-test
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
SlurmUser=$(id -un)
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCKET
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
# Finished jobs stay visible to squeue/scontrol for an hour (there is no sacct database).
MinJobAge=3600
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
PlugStackConfig=$DIR/etc/plugstack.conf
$(node_line)
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
    : >"$DIR/etc/plugstack.conf"
}

alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# The end of a log, for the reason on stderr.
log_tail() {
    if [ -s "$1" ]; then
        echo "--- last lines of $1:"
        tail -n 20 "$1"
    else
        echo "--- $1 is empty or missing"
    fi
}

# Something already listening on a port, as a site Slurm on the default ones.
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Starts a daemon (it forks into the background) and waits for its pid file.
# Its output goes to a file: a daemon that kept the pipe of $(...) open would
# hang the script. Some fail only after forking (a bad config line), so the
# pid must also still be alive.
start_daemon() {
    local name=$1 pidfile=$2 log=$3
    shift 3
    "$@" >"$DIR/log/$name.out" 2>&1 ||
        die "$name did not start (exit status $?): $(cat "$DIR/log/$name.out")
$(log_tail "$log")"
    for _ in $(seq 1 20); do
        alive "$pidfile" && return 0
        sleep 0.25
    done
    die "$name not running 5 s after it started: $(cat "$DIR/log/$name.out")
$(log_tail "$log")"
}

wait_idle() {
    local state
    for _ in $(seq 1 60); do
        state=$(SLURM_CONF=$CONF sinfo -h -n localhost -o %T 2>/dev/null || true)
        case $state in
            idle | mixed | allocated) return 0 ;;
            down* | drain*) SLURM_CONF=$CONF scontrol update nodename=localhost state=resume 2>/dev/null || true ;;
        esac
        sleep 1
    done
    die "node not idle after 60s (sinfo: '${state:-no answer}')
$(log_tail "$DIR/log/slurmctld.log")
$(log_tail "$DIR/log/slurmd.log")"
}

start() {
    mkdir -p "$DIR"
    if alive "$DIR/run/slurmctld.pid" && alive "$DIR/run/slurmd.pid"; then
        wait_idle
        echo "export SLURM_CONF=$CONF"
        return 0
    fi
    stop >/dev/null 2>&1 || true
    for port in "$CTLD_PORT" "$SLURMD_PORT"; do
        if port_taken "$port"; then
            die "port $port on 127.0.0.1 is taken (a site Slurm?); ROBBENCH_SLURM_PORT=N picks free ones (N and N+1)"
        fi
    done
    install_packages
    write_config
    alive "$DIR/run/munged.pid" ||
        start_daemon munged "$DIR/run/munged.pid" "$DIR/log/munged.log" \
            munged --force --key-file="$DIR/etc/munge.key" --socket="$SOCKET" \
            --pid-file="$DIR/run/munged.pid" --log-file="$DIR/log/munged.log" \
            --seed-file="$DIR/munge/munged.seed"
    start_daemon slurmctld "$DIR/run/slurmctld.pid" "$DIR/log/slurmctld.log" \
        env SLURM_CONF="$CONF" slurmctld -f "$CONF" -i
    start_daemon slurmd "$DIR/run/slurmd.pid" "$DIR/log/slurmd.log" \
        env SLURM_CONF="$CONF" slurmd -f "$CONF" -N localhost
    wait_idle
    say "munged, slurmctld and slurmd running; node localhost idle ($(nproc --all) CPUs); SLURM_CONF=$CONF"
    echo "export SLURM_CONF=$CONF"
}

stop_daemon() {
    local pidfile=$1
    alive "$pidfile" || return 0
    local pid
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.2
    done
    kill -9 "$pid" 2>/dev/null || true
}

stop() {
    if [ -f "$CONF" ] && alive "$DIR/run/slurmctld.pid"; then
        SLURM_CONF=$CONF scancel --user="$(id -un)" 2>/dev/null || true
    fi
    stop_daemon "$DIR/run/slurmd.pid"
    stop_daemon "$DIR/run/slurmctld.pid"
    stop_daemon "$DIR/run/munged.pid"
    say "stopped"
}

case ${1:-} in
    start) start ;;
    stop) stop ;;
    env) [ -f "$CONF" ] || die "no cluster configured under $DIR"; echo "export SLURM_CONF=$CONF" ;;
    *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
