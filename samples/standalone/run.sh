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

sample="samples/standalone"
source "$(dirname "${BASH_SOURCE[0]}")/../run-common.sh"
samples_init "$@"

samples="$root/$sample"
certs="$samples/certs"           # the appsettings.json files name ../certs/<workload>.pem|.key and ../certs/bundle.pem
trust_domain="example.org"

# name  project folder                 port   readiness path
services=(
  "token-server SecureComms.Samples.TokenServer 18440 /.well-known/oauth-authorization-server"
  "billing      SecureComms.Samples.Billing     18441 /healthz"
  "orders       SecureComms.Samples.Orders      18442 /healthz"
  "analytics    SecureComms.Samples.Analytics   18443 /healthz"
)

build_projects "$root/src/SecureComms.DevCert" "$samples"/SecureComms.Samples.{TokenServer,Billing,Orders,Analytics}
issue_certificates "$certs" "$trust_domain" token-server billing orders analytics frontend

# curl plays the workload "frontend". securecomms-dev's SVIDs carry only the SPIFFE ID (URI SAN) and a common name equal
# to the last path segment (billing, orders, ...); with no DNS name in the certificate, curl checks the host name
# against that common name. So curl calls https://billing:18441 and --resolve maps the name to 127.0.0.1: the server
# certificate is checked against bundle.pem and its name, with no -k. (SecureComms clients check the SPIFFE ID instead.)
as_frontend=(--cacert "$certs/bundle.pem" --cert "$certs/frontend.pem" --key "$certs/frontend.key")

echo "== start"
ports=()
for entry in "${services[@]}"; do
  read -r _ _ port _ <<< "$entry"
  ports+=("$port")
done
refuse_used_ports "${ports[@]}"
for entry in "${services[@]}"; do
  read -r name project _ _ <<< "$entry"
  # Started in its project folder, where appsettings.json is and where its relative certificate paths start.
  start_service "$name" "$samples/$project" "$work/$name.log" dotnet run --no-build -c Release "${dotnet_args[@]}"
done

# Ready = answers its readiness path over mutual TLS to frontend's SVID.
i=0
for entry in "${services[@]}"; do
  read -r name _ port path <<< "$entry"
  wait_ready "$name" "${pgids[$i]}" "$work/$name.log" "${as_frontend[@]}" --resolve "$name:$port:127.0.0.1" "https://$name:$port$path"
  i=$((i + 1))
  echo "  $name listening on https://127.0.0.1:$port"
done

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
check "no client certificate -> billing /invoices" "http=000,curl-failed" "$actual" "curl exit $rc: $(head -n 1 "$work/curl.err")"


finish_checks
