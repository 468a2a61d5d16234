#!/usr/bin/env bash
# The YARP gateway sample end to end, from the repository root:
#
#   bash samples/gateway-yarp/run.sh              # build, make certificates, start the four processes, check, stop
#   bash samples/gateway-yarp/run.sh --no-build   # the same without building (everything already built in Release)
#
# 1. makes a development CA and one X.509-SVID per workload with securecomms-dev in samples/gateway-yarp/certs
#    (gitignored), and an ordinary self-signed server certificate for the gateway's external listener (openssl);
# 2. starts the development identity provider (token server 18470, user sign-in 18471), billing (18472), orders (18473)
#    and the gateway (mutual TLS 18474, external HTTPS 18475), each configured by its appsettings.json;
# 3. signs alice (buyer) and bob (viewer) in, calls the gateway with curl as an outside client would, and prints one
#    line per check, expected vs actual;
# 4. stops everything it started, and exits 1 if any check differed.
set -euo pipefail

sample="samples/gateway-yarp"
source "$(dirname "${BASH_SOURCE[0]}")/../run-common.sh"
samples_init "$@"

samples="$root/$sample"
certs="$samples/certs"
trust_domain="example.org"
edge_port=18475

# name      project folder                              port   readiness path (mutual TLS)
services=(
  "identity SecureComms.Samples.GatewayYarp.Identity 18470 /.well-known/openid-configuration"
  "billing  SecureComms.Samples.GatewayYarp.Billing  18472 /healthz"
  "orders   SecureComms.Samples.GatewayYarp.Orders   18473 /healthz"
  "gateway  SecureComms.Samples.GatewayYarp.Gateway  18474 /healthz"
)

build_projects "$root/src/SecureComms.DevCert" "$samples"/SecureComms.Samples.GatewayYarp.{Identity,Billing,Orders,Gateway}
issue_certificates "$certs" "$trust_domain" token-server billing orders gateway probe
# The external listener's certificate: what a public CA would issue, here self-signed for localhost (curl trusts it
# with --cacert). It has nothing to do with SPIFFE.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$certs/edge.key" -out "$certs/edge.pem" 2> "$work/openssl.log" \
  || { cat "$work/openssl.log" >&2; exit 1; }
chmod 600 "$certs/edge.key"
echo "  edge.pem: self-signed server certificate for the gateway's external listener"

# Readiness probes present the "probe" SVID (mutual-TLS listeners answer nothing without one).
as_probe=(--cacert "$certs/bundle.pem" --cert "$certs/probe.pem" --key "$certs/probe.key")

echo "== start"
ports=(18471 "$edge_port")
for entry in "${services[@]}"; do
  read -r _ _ port _ <<< "$entry"
  ports+=("$port")
done
refuse_used_ports "${ports[@]}"
i=0
for entry in "${services[@]}"; do
  read -r name project port path <<< "$entry"
  start_service "$name" "$samples/$project" "$work/$name.log" dotnet run --no-build -c Release "${dotnet_args[@]}"
  # One at a time: orders and billing fetch the identity provider's metadata at start, the gateway too.
  tls_name="$name"
  [[ "$name" == identity ]] && tls_name="token-server"
  wait_ready "$name" "${pgids[$i]}" "$work/$name.log" "${as_probe[@]}" --resolve "$tls_name:$port:127.0.0.1" "https://$tls_name:$port$path"
  i=$((i + 1))
  echo "  $name listening on https://127.0.0.1:$port"
done
echo "  gateway's external listener on https://localhost:$edge_port"

# sign_in <user> <password>: the user's bearer token from the development identity provider (no client certificate).
sign_in() {
  call --cacert "$certs/bundle.pem" --resolve "token-server:18471:127.0.0.1" -d "username=$1" -d "password=$2" https://token-server:18471/sign-in
  [[ "$status" == 200 && "$body" =~ \"access_token\":\"([^\"]+)\" ]] || { echo "sign-in of $1 failed: $status $body" >&2; exit 1; }
  token="${BASH_REMATCH[1]}"
}
sign_in alice alice-dev-password
alice="$token"
sign_in bob bob-dev-password
bob="$token"

# The outside: the gateway's public certificate, no client certificate.
outside=(--cacert "$certs/edge.pem" --resolve "localhost:$edge_port:127.0.0.1")
edge="https://localhost:$edge_port"
trace_id="$(openssl rand -hex 16)"
forged_context="eyJhbGciOiJub25lIiwidHlwIjoic2VjdXJlY29tbXMtdWMrand0In0.eyJzdWIiOiJhbGljZSIsInJvbGUiOiJidXllciJ9."

echo "== checks (curl as an outside client of the gateway)"

# 1. alice (buyer): gateway -> orders -> billing; billing sees alice and the chain gateway -> orders, and every hop
#    belongs to the trace the caller started (YARP and the SecureComms clients propagate traceparent).
call "${outside[@]}" -H "Authorization: Bearer $alice" -H "traceparent: 00-$trace_id-$(openssl rand -hex 8)-01" "$edge/orders/1"
actual="$status"
[[ "$body" == *'\"user\":\"alice\"'* && "$body" == *'\"actors\":[\"spiffe://example.org/gateway\",\"spiffe://example.org/orders\"]'* ]] && actual="$actual+alice-via-gateway,orders"
[[ "$(grep -o "00-$trace_id-" <<< "$body" | wc -l)" == 2 ]] && actual="$actual+one-trace"
check "alice (buyer) -> gateway -> orders -> billing" "200+alice-via-gateway,orders+one-trace" "$actual" "$body"

# 2. bob (viewer): billing's rule needs a buyer; its 403 comes back through orders and the gateway.
call "${outside[@]}" -H "Authorization: Bearer $bob" "$edge/orders/1"
actual="$status"
[[ "$body" == *'"billingStatus":403'* ]] && actual="$actual+billing-said-403"
check "bob (viewer) -> gateway -> orders -> billing" "403+billing-said-403" "$actual" "$body"

# 3. bob with a forged user context claiming alice the buyer, and a forged forwarded certificate: both are dropped at
#    the gateway, which mints bob's own context; still bob, still 403.
call "${outside[@]}" -H "Authorization: Bearer $bob" -H "SecureComms-User-Context: $forged_context" \
  -H "X-Forwarded-Client-Cert: By=spiffe://example.org/billing;URI=spiffe://example.org/gateway" "$edge/orders/1"
actual="$status"
[[ "$body" == *'\"user\":\"bob\"'* || "$body" == *'"user":"bob"'* ]] && actual="$actual+still-bob"
check "bob + forged user context for alice (stripped)" "403+still-bob" "$actual" "$body"

# 4. alice with the same forged headers: they never reach orders (a context that did would be refused with 401).
call "${outside[@]}" -H "Authorization: Bearer $alice" -H "SecureComms-User-Context: $forged_context" "$edge/orders/1"
actual="$status"
[[ "$body" == *'\"user\":\"alice\"'* ]] && actual="$actual+alice"
check "alice + forged user context (stripped)" "200+alice" "$actual" "$body"

# 5. no user token: refused at the edge, nothing forwarded.
call "${outside[@]}" "$edge/orders/1"
check "no user token -> gateway" "401" "$status" "$body"

# 6. only a forged user context, no user token: the same 401 at the edge.
call "${outside[@]}" -H "SecureComms-User-Context: $forged_context" "$edge/orders/1"
check "forged user context, no user token -> gateway" "401" "$status" "$body"

# 7. a token the identity provider did not sign.
call "${outside[@]}" -H "Authorization: Bearer ${alice%.*}.c2lnbmF0dXJl" "$edge/orders/1"
check "alice's token with a forged signature -> gateway" "401" "$status" "$body"

finish_checks
