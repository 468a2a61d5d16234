#!/usr/bin/env bash
# The standalone samples end to end, from the repository root:
#
#   bash samples/standalone/run.sh              # build, make certificates, start the four services, check, stop
#   bash samples/standalone/run.sh --no-build   # the same without building (everything already built in Release)
#
# 1. makes a development CA and one X.509-SVID per workload with securecomms-dev (src/SecureComms.DevCert) in
#    samples/standalone/certs (gitignored; development only: the CA key sits in a file there);
# 2. starts the token server, billing, orders and analytics on 127.0.0.1:18440-18443, each configured only by its
#    appsettings.json;
# 3. plays "frontend" with curl (its own SVID, the trust bundle) and prints one line per check, expected vs actual;
# 4. stops everything it started, and exits 1 if any check differed.
#
# SAMPLES_DOTNET_ARGS (default empty) is added to every dotnet build/run, e.g.
#   SAMPLES_DOTNET_ARGS="--artifacts-path /tmp/samples-artifacts" bash samples/standalone/run.sh
set -euo pipefail

build=1
if [[ "${1:-}" == "--no-build" ]]; then
  build=0
  shift
fi
if (($#)); then
  echo "usage: bash samples/standalone/run.sh [--no-build]" >&2
  exit 2
fi
if [[ ! -f SecureComms.sln || ! -d samples/standalone ]]; then
  echo "run this from the repository root: bash samples/standalone/run.sh" >&2
  exit 2
fi

read -r -a dotnet_args <<< "${SAMPLES_DOTNET_ARGS:-}"
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

root="$PWD"
samples="$root/samples/standalone"
certs="$samples/certs"           # the appsettings.json files name ../certs/<workload>.pem|.key and ../certs/bundle.pem
logs="$(mktemp -d -t securecomms-standalone.XXXXXX)"
trust_domain="example.org"

# name  project folder                 port   readiness path
services=(
  "token-server SecureComms.Samples.TokenServer 18440 /.well-known/oauth-authorization-server"
  "billing      SecureComms.Samples.Billing     18441 /healthz"
  "orders       SecureComms.Samples.Orders      18442 /healthz"
  "analytics    SecureComms.Samples.Analytics   18443 /healthz"
)

# Every service runs in its own process group (setsid), so that stopping the group also stops the app that
# `dotnet run` started as its child.
pgids=()

# setsid makes the new process group only once the child runs it: wait for the group to exist before relying on it,
# so that neither the start-up check nor stop_all can miss a service that is merely slow to start.
group_started() {
  local pid="$1"
  for _ in $(seq 200); do
    kill -0 -- "-$pid" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}
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
    rm -rf "$logs"
  else
    echo "service logs kept in $logs"
  fi
  exit "$status"
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

devcert() {
  dotnet run --project "$root/src/SecureComms.DevCert" -c Release --no-build "${dotnet_args[@]}" -- "$@" > "$logs/devcert.log" 2>&1 \
    || { cat "$logs/devcert.log" >&2; echo "securecomms-dev $1 failed" >&2; exit 1; }
}

if ((build)); then
  echo "== build (Release)"
  for project in "$root/src/SecureComms.DevCert" "$samples"/SecureComms.Samples.{TokenServer,Billing,Orders,Analytics}; do
    dotnet build "$project" -c Release -nologo -v quiet -clp:NoSummary "${dotnet_args[@]}" > "$logs/build.log" 2>&1 \
      || { cat "$logs/build.log" >&2; echo "build of $project failed" >&2; exit 1; }
    echo "  built $(basename "$project")"
  done
fi

echo "== certificates (securecomms-dev, development only) in ${certs#"$root"/}"
rm -rf "$certs"
devcert ca create --trust-domain "$trust_domain" --out "$certs"
for workload in token-server billing orders analytics frontend; do
  devcert issue --ca "$certs" --spiffe-id "spiffe://$trust_domain/$workload" --out "$certs" --lifetime 1h
done
devcert bundle --ca "$certs" --out "$certs"
echo "  CA, bundle.pem, and SVIDs for token-server, billing, orders, analytics, frontend (1 h)"

# curl plays the workload "frontend". securecomms-dev's SVIDs carry only the SPIFFE ID (URI SAN) and a common name equal
# to the last path segment (billing, orders, ...); with no DNS name in the certificate, curl checks the host name
# against that common name. So curl calls https://billing:18441 and --resolve maps the name to 127.0.0.1: the server
# certificate is checked against bundle.pem and its name, with no -k. (SecureComms clients check the SPIFFE ID instead.)
as_frontend=(--cacert "$certs/bundle.pem" --cert "$certs/frontend.pem" --key "$certs/frontend.key")

port_open() { (exec 3<> "/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

echo "== start"
for entry in "${services[@]}"; do
  read -r name project port _ <<< "$entry"
  if port_open "$port"; then
    echo "127.0.0.1:$port is already in use; stop whatever listens there (another run of this script?)" >&2
    exit 1
  fi
done
for entry in "${services[@]}"; do
  read -r name project port _ <<< "$entry"
  # Started in its project folder, where appsettings.json is and where its relative certificate paths start.
  (cd "$samples/$project" && exec setsid dotnet run --no-build -c Release "${dotnet_args[@]}") > "$logs/$name.log" 2>&1 &
  pgids+=("$!")
  group_started "$!" || { echo "$name did not start; its log:" >&2; tail -n 40 "$logs/$name.log" >&2; exit 1; }
done

# Ready = answers its readiness path over mutual TLS to frontend's SVID.
deadline=$((SECONDS + 90))
i=0
for entry in "${services[@]}"; do
  read -r name project port path <<< "$entry"
  pgid="${pgids[$i]}"
  i=$((i + 1))
  until [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "${as_frontend[@]}" --resolve "$name:$port:127.0.0.1" "https://$name:$port$path" || true)" == 200 ]]; do
    if ! kill -0 -- "-$pgid" 2>/dev/null; then
      echo "$name stopped during start-up; its log:" >&2
      tail -n 40 "$logs/$name.log" >&2
      exit 1
    fi
    if ((SECONDS > deadline)); then
      echo "$name did not answer https://127.0.0.1:$port$path in time; its log:" >&2
      tail -n 40 "$logs/$name.log" >&2
      exit 1
    fi
    sleep 0.5
  done
  echo "  $name listening on https://127.0.0.1:$port"
done

# call <curl args...>: sets status (HTTP status, 000 when none), body, and rc (curl's exit code).
call() {
  set +e
  status="$(curl -sS -o "$logs/body" -w '%{http_code}' --max-time 30 "$@" 2> "$logs/curl.err")"
  rc=$?
  set -e
  body="$(cat "$logs/body" 2> /dev/null || true)"
  rm -f "$logs/body"
}

failures=0
# check <description> <expected> <actual> <detail>
check() {
  local verdict="ok"
  if [[ "$2" != "$3" ]]; then
    verdict="FAIL"
    failures=$((failures + 1))
  fi
  printf '%-4s %-52s expected %-22s actual %-22s %s\n' "$verdict" "$1" "$2" "$3" "$4"
}

echo "== checks (curl as spiffe://$trust_domain/frontend)"

# 1. frontend -> orders, which calls billing with a token bound to orders' SVID: billing's answer comes back.
call "${as_frontend[@]}" --resolve orders:18442:127.0.0.1 https://orders:18442/orders/1
actual="$status"
[[ "$body" == *'"billingStatus":200'* && "$body" == *'invoices for spiffe://example.org/orders'* ]] && actual="$status+billing-answer"
check "frontend -> orders /orders/1 -> billing /invoices" "200+billing-answer" "$actual" "$body"

# 2. frontend -> analytics, which calls billing with its own valid bound token; billing's policy denies analytics.
call "${as_frontend[@]}" --resolve analytics:18443:127.0.0.1 https://analytics:18443/report
actual="$status"
[[ "$body" == *'"billingStatus":403'* ]] && actual="$status+billing-said-403"
check "frontend -> analytics /report -> billing /invoices" "200+billing-said-403" "$actual" "$body"

# 3. frontend -> billing directly: a valid SVID but no access token. Tokens are checked before the policy, so the
#    answer is 401 (RFC 6750 §3.1: no error code when no token came), not the 403 of the policy.
call "${as_frontend[@]}" --resolve billing:18441:127.0.0.1 https://billing:18441/invoices
check "frontend -> billing /invoices directly (no token)" "401" "$status" "$body"

# 4. no client certificate: the TLS handshake is refused, there is no HTTP status at all (curl prints 000 and fails;
#    with TLS 1.3 curl notices only when it reads, so its exit code varies: 35, 56, 18, ...).
call --cacert "$certs/bundle.pem" --resolve billing:18441:127.0.0.1 https://billing:18441/invoices
actual="http=$status"
((rc != 0)) && actual="$actual,curl-failed"
check "no client certificate -> billing /invoices" "http=000,curl-failed" "$actual" "curl exit $rc: $(head -n 1 "$logs/curl.err")"

echo
if ((failures)); then
  echo "$failures check(s) differed from what was expected."
  exit 1
fi
echo "Every check was as expected."
