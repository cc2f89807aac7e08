# shellcheck shell=bash
# bench/cgroup.sh: CPU limits for bench/run's "limited" phase, set the way Docker (`cpus: 0.25`)
# and Kubernetes (`limits.cpu: 250m`) set them: a CFS quota on a cgroup (cgroup v2 `cpu.max`, or
# v1 `cpu.cfs_quota_us`). Sourced by bench/run; needs root and a writable cpu controller.
#
#   cg_detect                      sets CG_VERSION (2 or 1) and CG_BASE; fails (CG_WHY says why)
#   cg_limit NAME QUOTA_US PID...  a new cgroup NAME allowed QUOTA_US per 100 ms, holding PIDs
#   cg_throttling NAME             "periods throttled" so far (cpu.stat nr_periods, nr_throttled)
#   cg_remove_all                  removes every cgroup made here (their processes move back)

CG_VERSION=""
CG_BASE=""
CG_WHY=""  # why cg_detect failed (bench/run writes it into the report)
CG_PERIOD_US=100000  # the CFS period Docker and Kubernetes use
declare -A CG_DIR=()

cg_detect() {
  local v2 v1
  v2="$(awk '$3 == "cgroup2" {print $2; exit}' /proc/mounts)"
  # v2: writable (not a read-only mount in a container), and the cpu controller enabled for
  # children of the base (allowed at the root).
  if [ -n "$v2" ] && [ -w "$v2/cgroup.procs" ] && grep -qw cpu "$v2/cgroup.controllers" 2>/dev/null &&
    { grep -qw cpu "$v2/cgroup.subtree_control" || echo +cpu >"$v2/cgroup.subtree_control"; } 2>/dev/null; then
    CG_VERSION=2
    CG_BASE="$v2"
    return 0
  fi
  v1="$(awk '$3 == "cgroup" && $4 ~ /(^|,)cpu(,|$)/ {print $2; exit}' /proc/mounts)"
  if [ -n "$v1" ] && [ -f "$v1/cpu.cfs_quota_us" ] && [ -w "$v1/cgroup.procs" ]; then
    CG_VERSION=1
    CG_BASE="$v1"
    return 0
  fi
  # shellcheck disable=SC2034  # read by bench/run
  CG_WHY="no writable cgroup cpu controller (cgroup2 at '${v2:-none}', v1 cpu at '${v1:-none}')"
  return 1
}

cg_limit() {
  local name="$1" quota="$2" dir pid
  shift 2
  dir="$CG_BASE/lettagate-bench-$$-$name"
  mkdir "$dir" || return 1
  CG_DIR[$name]="$dir"
  if [ "$CG_VERSION" = 2 ]; then
    echo "$quota $CG_PERIOD_US" >"$dir/cpu.max" || return 1
  else
    echo "$CG_PERIOD_US" >"$dir/cpu.cfs_period_us" && echo "$quota" >"$dir/cpu.cfs_quota_us" || return 1
  fi
  for pid in "$@"; do echo "$pid" >"$dir/cgroup.procs" || return 1; done
}

cg_throttling() {
  awk '$1 == "nr_periods" {p = $2} $1 == "nr_throttled" {t = $2} END {print p + 0, t + 0}' "${CG_DIR[$1]}/cpu.stat"
}

cg_remove_all() {
  local dir pid
  for dir in "${CG_DIR[@]}"; do
    [ -d "$dir" ] || continue
    while read -r pid; do echo "$pid" >"$CG_BASE/cgroup.procs" 2>/dev/null || true; done <"$dir/cgroup.procs"
    rmdir "$dir" 2>/dev/null || true
  done
  CG_DIR=()
}
