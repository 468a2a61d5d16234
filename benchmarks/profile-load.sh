#!/usr/bin/env bash
# Where one request's CPU goes, by owner: each named mode of the load harness runs alone (HTTP/2 keep-alive, 32 streams)
# while perf samples the process; the harness then attributes every sample to the innermost frame with an owner
# (SecureComms, ASP.NET Core authentication, Kestrel, HttpClient, TLS, kernel, ...) and scales by the run's measured CPU
# per request, so the table reads in µs per request, with each mode's difference from the first.
#
#   benchmarks/profile-load.sh                                   # mTLS only, trivial scheme, full SecureComms
#   benchmarks/profile-load.sh "mTLS only" "full SecureComms"    # any modes (text contained in the mode's name)
#   PROFILE_LOAD="HTTP/1.1 keep-alive, 32" PROFILE_SECONDS=20 benchmarks/profile-load.sh
#
# Needs perf (Debian package linux-perf) and permission to profile the process (kernel.perf_event_paranoid <= 2 for
# one's own processes).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
dll="$here/SecureComms.Load/bin/Release/net10.0/SecureComms.Load.dll"
load=${PROFILE_LOAD:-"HTTP/2 keep-alive, 32"}
seconds=${PROFILE_SECONDS:-15}
if [ $# -eq 0 ]; then
  set -- "mTLS only" "trivial scheme" "full SecureComms"
fi

command -v perf >/dev/null || { echo "perf is not installed (Debian: apt-get install linux-perf)" >&2; exit 2; }
dotnet build -c Release "$here/SecureComms.Load" -v quiet -nologo >/dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
attribution=()
n=0
for mode in "$@"; do
  n=$((n + 1))
  DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 dotnet "$dll" --only "$mode" --only-load "$load" --rounds 1 \
    --warmup 3 --duration "$seconds" --out "$work/table$n.md" >"$work/out$n" 2>"$work/err$n" &
  pid=$!
  # Start sampling once the measured window has begun, and stop a second before it ends.
  until grep -q '^measuring:' "$work/err$n"; do
    kill -0 "$pid" 2>/dev/null || { cat "$work/err$n" >&2; exit 1; }
    sleep 0.2
  done
  perf record -q -F 999 -g -p "$pid" -o "$work/perf$n.data" -- sleep $((seconds - 1)) 2>/dev/null
  wait "$pid"
  # The run's CPU µs per request: the table's 7th column on the mode's row.
  cpu=$(awk -F'|' -v mode="$mode" 'index($3, mode) { gsub(/ /, "", $8); print $8; exit }' "$work/table$n.md")
  [ -n "$cpu" ] || { echo "no measured row for '$mode' in:" >&2; cat "$work/table$n.md" >&2; exit 1; }
  perf script -i "$work/perf$n.data" 2>/dev/null >"$work/stacks$n.txt"
  attribution+=("$mode" "$work/stacks$n.txt" "$cpu")
  echo "profiled '$mode' ($load): $cpu µs of CPU per request" >&2
done

echo "CPU per request by owner, $load ($(nproc) cores, client and server in one process):"
echo
dotnet "$dll" --attribute "${attribution[@]}"
