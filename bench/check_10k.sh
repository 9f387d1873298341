#!/usr/bin/env bash
# End-to-end benchmark of `portcullis check` on a generated catalog of
# 10,000 apps x 5 roles (bench/dsl/generate_policy.cpp), against the target
# in docs/PERFORMANCE.md: under 200 ms wall and 150 MB peak RSS.
#
#   bench/check_10k.sh [--runs N] [--apps N] [--roles R] [--seed S] [--no-build] [--enforce]
#
#   --runs N     timed runs after one warm-up run (default 7)
#   --no-build   reuse the binaries already in the build dir
#   --enforce    exit 1 when the best wall time or the peak RSS misses the target
#
# Environment: BUILD_DIR (default <repo>/build-bench, a Release build),
# JOBS (ninja -j, default 2).
#
# Peak RSS comes from GNU time (/usr/bin/time, Debian package `time`); without
# it, from python3's getrusage(RUSAGE_CHILDREN), and as a last resort from
# polling VmHWM in /proc/PID/status (may under-read a short final peak).
# Wall time is measured around each run with a nanosecond clock; user+sys
# CPU is shown too, because on a loaded machine wall time overstates cost.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$root/build-bench}
jobs=${JOBS:-2}
runs=7 apps=10000 roles=5 seed=1 build_it=1 enforce=0
target_ms=200 target_mb=150

while (($#)); do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --apps) apps=$2; shift 2 ;;
    --roles) roles=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --no-build) build_it=0; shift ;;
    --enforce) enforce=1; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "check_10k.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

if ((build_it)); then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPORTCULLIS_TESTS=OFF -DPORTCULLIS_BENCH=ON >/dev/null
  ninja -C "$build" -j "$jobs" portcullis portcullis-gen-policy >/dev/null
fi
cli=$build/tools/cli/portcullis
gen=$build/bench/dsl/portcullis-gen-policy
for bin in "$cli" "$gen"; do
  [[ -x $bin ]] || { echo "check_10k.sh: $bin not built" >&2; exit 2; }
done
if [[ $(grep -s '^CMAKE_BUILD_TYPE:' "$build/CMakeCache.txt" | cut -d= -f2) != Release ]]; then
  echo "check_10k.sh: warning: $build is not a Release build" >&2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
policy=$tmp/catalog.policy
"$gen" --apps "$apps" --roles "$roles" --seed "$seed" >"$policy"

# One measured run: prints "wall_ms cpu_ms rss_kb" and fails when the check
# does not pass cleanly.
measure() {
  local start end rc=0
  if [[ -x /usr/bin/time ]]; then
    start=$(date +%s%N)
    /usr/bin/time -f '%U %S %M' -o "$tmp/time" "$cli" check --quiet "$policy" >"$tmp/out" 2>&1 || rc=$?
    end=$(date +%s%N)
    read -r user sys rss <"$tmp/time"
    cpu_ms=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%d", (u + s) * 1000 }')
  elif command -v python3 >/dev/null; then
    # Timed inside python so its own start-up is not counted.
    read -r wall_ms cpu_ms rss rc < <(python3 - "$cli" "$policy" "$tmp/out" <<'PY'
import resource, subprocess, sys, time
with open(sys.argv[3], "w") as out:
    t0 = time.perf_counter_ns()
    rc = subprocess.call([sys.argv[1], "check", "--quiet", sys.argv[2]], stdout=out, stderr=subprocess.STDOUT)
    t1 = time.perf_counter_ns()
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print((t1 - t0) // 1000000, int((u.ru_utime + u.ru_stime) * 1000), u.ru_maxrss, rc)
PY
)
    start=0 end=$((wall_ms * 1000000))
  else
    start=$(date +%s%N)
    "$cli" check --quiet "$policy" >"$tmp/out" 2>&1 &
    local pid=$! hwm rss=0
    while hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) && [[ -n $hwm ]]; do
      rss=$hwm
      sleep 0.005
    done
    wait "$pid" || rc=$?
    end=$(date +%s%N)
    cpu_ms=NA
  fi
  if ((rc != 0)); then
    echo "check_10k.sh: portcullis check exited $rc:" >&2
    head -20 "$tmp/out" >&2
    exit 1
  fi
  echo "$(((end - start) / 1000000)) $cpu_ms $rss"
}

measure >/dev/null  # warm-up: page cache, and proof that the policy checks cleanly
: >"$tmp/results"
for ((i = 0; i < runs; i++)); do measure >>"$tmp/results"; done

size=$(wc -c <"$policy")
load=$(cut -d' ' -f1 /proc/loadavg)
cpu_median=$(cut -d' ' -f2 "$tmp/results" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
sort -n -k1,1 "$tmp/results" | awk -v apps="$apps" -v roles="$roles" -v size="$size" -v cpu_median="$cpu_median" \
    -v tms="$target_ms" -v tmb="$target_mb" -v load="$load" -v nproc="$(nproc)" -v enforce="$enforce" '
  { wall[NR] = $1; if ($3 > rss) rss = $3 }
  END {
    best = wall[1]; median = wall[int((NR + 1) / 2)]
    mb = rss / 1024
    printf "portcullis check: %d apps x %d roles, %.1f MB of policy, %d runs (load average %s on %d cores)\n",
           apps, roles, size / 1e6, NR, load, nproc
    printf "  wall time  best %d ms, median %d ms   (target < %d ms: best is %.2fx the target)\n",
           best, median, tms, best / tms
    printf "  CPU time   median %s ms (user+sys)\n", cpu_median
    printf "  peak RSS   %.1f MB                   (target < %d MB: %.2fx the target)\n", mb, tmb, mb / tmb
    if (load > nproc) print "  warning: the machine is busy; wall times overstate the cost"
    exit (enforce && (best >= tms || mb >= tmb)) ? 1 : 0
  }'
