#!/usr/bin/env bash
# Restart benchmark of the daemon with 1,000,000 active time-bound grants in
# its database, against the target in docs/PERFORMANCE.md ("The daemon"):
# from process start to the first successful GET /healthz in under 2 s,
# resident memory under 200 MB.
#
#   bench/restart_1m.sh [--db PATH] [--grants N] [--runs N] [--port P] [--no-build] [--keep-db]
#
#   --db PATH    the database (default /tmp/portcullis-1m.db); seeded with
#                portcullis-seed-grants when it does not exist
#   --grants N   grants to seed (default 1000000)
#   --runs N     restarts to time (default 3)
#   --port P     127.0.0.1 port for serve (default 18282)
#   --no-build   reuse the binaries already in the build dir
#   --keep-db    keep the database at the end (the default; ~2 GB at 1M)
#   --rm-db      delete the database (and its -wal/-shm) at the end
#
# Environment: BUILD_DIR (default <repo>/build-seed, RelWithDebInfo),
# JOBS (ninja -j, default 2).
#
# Each run: start `portcullis serve` (acme policy, its directory, a
# principals file with one admin token made by `portcullis token new`),
# poll GET /healthz with curl every 10 ms and print the time from just
# before the exec to the first 200; read VmRSS/VmHWM of the serve process
# from /proc/PID/status once serving, then time GET /metrics, check that it
# reports portcullis_requests{state="active"} N and read the memory again;
# then stop serve with SIGTERM and wait for it.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$root/build-seed}
jobs=${JOBS:-2}
db=/tmp/portcullis-1m.db grants=1000000 runs=3 port=18282 build_it=1 rm_db=0
target_ms=2000 target_mb=200

while (($#)); do
  case $1 in
    --db) db=$2; shift 2 ;;
    --grants) grants=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --no-build) build_it=0; shift ;;
    --keep-db) rm_db=0; shift ;;
    --rm-db) rm_db=1; shift ;;
    -h|--help) sed -n '2,29p' "$0"; exit 0 ;;
    *) echo "restart_1m.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

if ((build_it)); then
  if [[ ! -f $build/build.ninja ]]; then
    cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  fi
  ninja -C "$build" -j "$jobs" portcullis portcullis-seed-grants >/dev/null
fi
cli=$build/tools/cli/portcullis
seed=$build/bench/load/portcullis-seed-grants
policy=$root/examples/acme/acme.policy
directory=$root/examples/acme/directory.json
url=http://127.0.0.1:$port

work=$(mktemp -d /tmp/portcullis-restart.XXXXXX)
serve_pid=
cleanup() {
  if [[ -n $serve_pid ]] && kill -0 "$serve_pid" 2>/dev/null; then
    kill -TERM "$serve_pid" 2>/dev/null || true
    wait "$serve_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
  if ((rm_db)); then rm -f "$db" "$db-wal" "$db-shm"; fi
}
trap cleanup EXIT

now_ns() { date +%s%N; }
mem_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
mb() { awk -v kb="$1" 'BEGIN { printf "%.1f", kb / 1024 }'; }

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
if [[ ! -e $db ]]; then
  echo "seeding $grants grants into $db"
  (cd "$root" && "$seed" --db "$db" --grants "$grants" --policy "$policy")
fi
echo "database: $(du -h "$db" | cut -f1) ($db), wal: $(du -h "$db-wal" 2>/dev/null | cut -f1 || echo none)"

"$cli" token new --principal bench-admin@acme.com --admin >"$work/token.out" 2>/dev/null
token=$(sed -n 1p "$work/token.out")
echo "{\"principals\": [$(sed -n 2p "$work/token.out")]}" >"$work/principals.json"

worst_ms=0 worst_kb=0
for ((run = 1; run <= runs; run++)); do
  start=$(now_ns)
  "$cli" serve --policy "$policy" --db "$db" --listen "127.0.0.1:$port" --principals "$work/principals.json" \
    --directory "$directory" --log-level warn >"$work/serve.out" 2>"$work/serve.err" &
  serve_pid=$!
  until curl -fsS -o /dev/null "$url/healthz" 2>/dev/null; do
    if ! kill -0 "$serve_pid" 2>/dev/null; then
      echo "serve exited before serving:" >&2
      cat "$work/serve.err" >&2
      exit 1
    fi
    if (($(now_ns) - start > 60000000000)); then echo "serve not healthy after 60 s" >&2; exit 1; fi
    sleep 0.01
  done
  ready_ms=$(((($(now_ns) - start)) / 1000000))
  rss_ready=$(mem_kb "$serve_pid" VmRSS) hwm_ready=$(mem_kb "$serve_pid" VmHWM)

  m_start=$(now_ns)
  curl -fsS -H "Authorization: Bearer $token" "$url/metrics" >"$work/metrics.txt"
  metrics_ms=$(((($(now_ns) - m_start)) / 1000000))
  active=$(awk '$1 == "portcullis_requests{state=\"active\"}" { print $2 }' "$work/metrics.txt")
  rss_after=$(mem_kb "$serve_pid" VmRSS) hwm_after=$(mem_kb "$serve_pid" VmHWM)

  kill -TERM "$serve_pid"
  stop_start=$(now_ns)
  wait "$serve_pid" || true
  stop_ms=$(((($(now_ns) - stop_start)) / 1000000))
  serve_pid=

  ok=ok
  [[ $active == "$grants" ]] || ok="MISMATCH (expected $grants)"
  echo "run $run: healthz after ${ready_ms} ms; RSS $(mb "$rss_ready") MB (peak $(mb "$hwm_ready") MB) when serving;" \
    "GET /metrics ${metrics_ms} ms, active=$active $ok; RSS $(mb "$rss_after") MB (peak $(mb "$hwm_after") MB) after;" \
    "SIGTERM -> exit ${stop_ms} ms"
  ((ready_ms > worst_ms)) && worst_ms=$ready_ms
  ((hwm_after > worst_kb)) && worst_kb=$hwm_after
  [[ $ok == ok ]] || exit 1
done

verdict() { if (($1)); then echo met; else echo MISSED; fi; }
echo "worst of $runs: ready ${worst_ms} ms (target < ${target_ms} ms: $(verdict $((worst_ms < target_ms))))," \
  "peak RSS $(mb "$worst_kb") MB (target < ${target_mb} MB: $(verdict $((worst_kb < target_mb * 1024))))"
