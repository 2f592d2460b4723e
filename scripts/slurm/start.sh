#!/usr/bin/env bash
# A real single-node Slurm on localhost, for the README's job-array recipe test
# (crates/amva/tests/slurm.rs): slurmctld + slurmd, and slurmdbd on MariaDB so that
# `sacct` works. Installs Debian's packages when missing (needs root and apt), writes a
# minimal config for this machine's cores and memory, starts what is not running, and
# waits until `sinfo` shows the node idle. Safe to run twice: a running, matching
# cluster is left as it is.
#
#   bash scripts/slurm/start.sh          # exit 0: Slurm is up; else the reason on stderr
set -euo pipefail

say() { echo "slurm: $*" >&2; }
die() { say "$*"; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (installs packages, writes /etc/slurm, starts daemons)"

PKGS=(slurm-wlm munge slurmdbd mariadb-server)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null || die "apt-get not found; install ${missing[*]} by hand"
  say "installing ${missing[*]}"
  apt-get update -qq >/dev/null || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    >/dev/null || die "apt-get install ${missing[*]} failed"
fi

HOST=$(hostname -s)
CPUS=$(nproc)
# 95 % of the physical memory in MiB: slurmd drains a node that has less than configured.
MEM_MB=$(( $(getconf _PHYS_PAGES) * $(getconf PAGESIZE) / 1048576 * 95 / 100 ))
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm

# Writes stdin to $1 if it differs; returns 0 when the file changed.
put() {
  local tmp; tmp=$(mktemp "$1.XXXX")
  cat >"$tmp"
  if [ -f "$1" ] && cmp -s "$tmp" "$1"; then rm -f "$tmp"; return 1; fi
  mv "$tmp" "$1"
}

changed=0
put /etc/slurm/slurm.conf <<EOF && changed=1
# Written by amva's scripts/slurm/start.sh: one node, this machine.
ClusterName=amva
SlurmctldHost=${HOST}(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
# Requeued jobs wait this long before they start again (default 120 s).
AuthInfo=cred_expire=10
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SlurmdParameters=config_overrides
ReturnToService=2
MpiDefault=none
JobRequeue=1
KillWait=5
MinJobAge=3600
SchedulerParameters=sched_interval=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
NodeName=${HOST} NodeAddr=127.0.0.1 CPUs=${CPUS} RealMemory=${MEM_MB} State=UNKNOWN
PartitionName=main Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
put /etc/slurm/slurmdbd.conf <<EOF && changed=1
# Written by amva's scripts/slurm/start.sh: accounting in the local MariaDB (unix socket, root).
AuthType=auth/munge
DbdHost=localhost
SlurmUser=root
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=root
StorageLoc=slurm_acct_db
PidFile=/run/slurmdbd.pid
LogFile=/var/log/slurm/slurmdbd.log
EOF
chmod 600 /etc/slurm/slurmdbd.conf

# pid file $1 names a live process?
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
# Waits up to $1 seconds for the command after it to succeed.
wait_for() {
  local n=$1; shift
  for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done
  return 1
}

if [ $changed = 1 ] && alive /run/slurmctld.pid; then
  say "configuration changed: restarting the Slurm daemons"
  for d in slurmd slurmctld slurmdbd; do
    alive /run/$d.pid && kill "$(cat /run/$d.pid)"
    wait_for 20 bash -c "! kill -0 \$(cat /run/$d.pid 2>/dev/null) 2>/dev/null" || true
  done
fi

mysqladmin ping >/dev/null 2>&1 || /etc/init.d/mariadb start >/dev/null \
  || die "MariaDB did not start (see /var/log/mysql or journal)"
wait_for 30 mysqladmin ping || die "MariaDB does not answer"

munge -n 2>/dev/null | unmunge >/dev/null 2>&1 || /etc/init.d/munge start >/dev/null \
  || die "munged did not start"
wait_for 10 bash -c "munge -n | unmunge" || die "munge does not work (see /var/log/munge/munged.log)"

alive /run/slurmdbd.pid || slurmdbd || die "slurmdbd did not start (see /var/log/slurm/slurmdbd.log)"
wait_for 30 sacctmgr -n list cluster || die "slurmdbd does not answer (see /var/log/slurm/slurmdbd.log)"
sacctmgr -n -P list cluster format=cluster | grep -qx amva || sacctmgr -i add cluster amva >/dev/null \
  || die "could not register the cluster with slurmdbd"

alive /run/slurmctld.pid || slurmctld || die "slurmctld did not start (see /var/log/slurm/slurmctld.log)"
wait_for 30 scontrol ping || die "slurmctld does not answer (see /var/log/slurm/slurmctld.log)"
alive /run/slurmd.pid || slurmd || die "slurmd did not start (see /var/log/slurm/slurmd.log)"

# A node left down or drained by an earlier run is returned to service.
state=""
for _ in $(seq 60); do
  state=$(sinfo -h -n "$HOST" -o %T 2>/dev/null || true)
  case "$state" in
    idle|mixed|allocated|completing) break ;;
    down*|drain*) scontrol update nodename="$HOST" state=resume >/dev/null 2>&1 || true ;;
  esac
  sleep 1
done
case "$state" in
  idle|mixed|allocated|completing) ;;
  *) die "node $HOST is '$state', not idle (see /var/log/slurm/slurmd.log)" ;;
esac
say "up: node $HOST ($CPUS CPUs, $MEM_MB MiB), $(sinfo --version)"
