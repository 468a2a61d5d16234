# Shared by the samples' run.sh scripts (sourced, not run): argument handling, building, development certificates,
# services in their own process groups, readiness, and the expected-vs-actual check lines.
#
# The sourcing script sets, before calling samples_init: sample (the sample's folder, relative to the repository root).
# samples_init sets: root, build (1 or 0), dotnet_args, work (a private temporary folder for logs), and the traps that stop
# every started service on exit.

# samples_init "$@": checks the arguments ([--no-build]) and the working directory, then prepares the run.
samples_init() {
  build=1
  if [[ "${1:-}" == "--no-build" ]]; then
    build=0
    shift
  fi
  if (($#)); then
    echo "usage: bash $sample/run.sh [--no-build]" >&2
    exit 2
  fi
  if [[ ! -f SecureComms.sln || ! -d "$sample" ]]; then
    echo "run this from the repository root: bash $sample/run.sh" >&2
    exit 2
  fi

  read -r -a dotnet_args <<< "${SAMPLES_DOTNET_ARGS:-}"
  export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
  root="$PWD"
  work="$(mktemp -d -t "securecomms-$(basename "$sample").XXXXXX")"
  pgids=()
  failures=0
  trap stop_all EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# Every service runs in its own process group (setsid): stopping the group also stops the app `dotnet run` started as
# its child, or nginx's worker.
stop_all() {
  local status=$?
  trap - EXIT INT TERM
  for pgid in "${pgids[@]}"; do
    kill -TERM -- "-$pgid" 2>/dev/null || true
  done
  for pgid in "${pgids[@]}"; do
    for _ in $(seq 50); do
      kill -0 -- "-$pgid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL -- "-$pgid" 2>/dev/null || true
  done
  if ((status == 0)); then
    rm -rf "$work"
  else
    echo "logs kept in $work"
  fi
  exit "$status"
}

# build_projects <project folder...>: dotnet build in Release, unless --no-build was given.
build_projects() {
  ((build)) || return 0
  echo "== build (Release)"
  local project
  for project in "$@"; do
    dotnet build "$project" -c Release -nologo -v quiet -clp:NoSummary "${dotnet_args[@]}" > "$work/build.log" 2>&1 \
      || { cat "$work/build.log" >&2; echo "build of $project failed" >&2; exit 1; }
    echo "  built $(basename "$project")"
  done
}

devcert() {
  dotnet run --project "$root/src/SecureComms.DevCert" -c Release --no-build "${dotnet_args[@]}" -- "$@" > "$work/devcert.log" 2>&1 \
    || { cat "$work/devcert.log" >&2; echo "securecomms-dev $1 failed" >&2; exit 1; }
}

# issue_certificates <certs folder> <trust domain> <workload...>: a fresh development CA, one 1-hour SVID per workload
# (spiffe://<trust domain>/<workload>), and the trust bundle, all with securecomms-dev.
issue_certificates() {
  local certs="$1" trust_domain="$2" workload
  shift 2
  echo "== certificates (securecomms-dev, development only) in ${certs#"$root"/}"
  rm -rf "$certs"
  devcert ca create --trust-domain "$trust_domain" --out "$certs"
  for workload in "$@"; do
    devcert issue --ca "$certs" --spiffe-id "spiffe://$trust_domain/$workload" --out "$certs" --lifetime 1h
  done
  devcert bundle --ca "$certs" --out "$certs"
  local names
  printf -v names '%s, ' "$@"
  echo "  CA, bundle.pem, and SVIDs for ${names%, } (1 h)"
}

# refuse_used_ports <port...>: stops the run when something already listens on one of them.
refuse_used_ports() {
  local port
  for port in "$@"; do
    if (exec 3<> "/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "127.0.0.1:$port is already in use; stop whatever listens there (another run of this script?)" >&2
      exit 1
    fi
  done
}

# start_service <name> <folder> <log> <command...>: runs the command in the folder, in a process group of its own, and
# sets started_pgid. setsid makes the group only once the child runs it, so this waits for the group to exist: neither
# the readiness check nor stop_all can then miss a service that is merely slow to start.
start_service() {
  local name="$1" folder="$2" log="$3"
  shift 3
  (cd "$folder" && exec setsid "$@") > "$log" 2>&1 &
  started_pgid="$!"
  pgids+=("$started_pgid")
  for _ in $(seq 200); do
    kill -0 -- "-$started_pgid" 2>/dev/null && return 0
    kill -0 "$started_pgid" 2>/dev/null || break
    sleep 0.05
  done
  echo "$name did not start; its log:" >&2
  tail -n 40 "$log" >&2
  exit 1
}

# wait_ready <name> <pgid> <log> <curl args...>: until the request answers 200, for at most 90 seconds.
wait_ready() {
  local name="$1" pgid="$2" log="$3" deadline=$((SECONDS + 90))
  shift 3
  until [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@" || true)" == 200 ]]; do
    if ! kill -0 -- "-$pgid" 2>/dev/null; then
      echo "$name stopped during start-up; its log:" >&2
      tail -n 40 "$log" >&2
      exit 1
    fi
    if ((SECONDS > deadline)); then
      echo "$name did not answer ${*: -1} in time; its log:" >&2
      tail -n 40 "$log" >&2
      exit 1
    fi
    sleep 0.5
  done
}

# call <curl args...>: sets status (HTTP status, 000 when none), body (on one line), and rc (curl's exit code);
# curl's error output is in $work/curl.err.
call() {
  set +e
  status="$(curl -sS -o "$work/body" -w '%{http_code}' --max-time 30 "$@" 2> "$work/curl.err")"
  rc=$?
  set -e
  body=""
  if [[ -f "$work/body" ]]; then # no file when no response came
    body="$(tr -s '\r\n' '  ' < "$work/body")"
    rm -f "$work/body"
  fi
}

# check <description> <expected> <actual> <detail>: one line, ok or FAIL.
check() {
  local verdict="ok"
  if [[ "$2" != "$3" ]]; then
    verdict="FAIL"
    failures=$((failures + 1))
  fi
  printf '%-4s %-58s expected %-22s actual %-22s %s\n' "$verdict" "$1" "$2" "$3" "${4:0:160}"
}

# finish_checks: the verdict line; exit 1 when a check differed.
finish_checks() {
  echo
  if ((failures)); then
    echo "$failures check(s) differed from what was expected."
    exit 1
  fi
  echo "Every check was as expected."
}
