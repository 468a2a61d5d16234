#!/usr/bin/env bash
# The legacy service behind nginx, end to end, from the repository root:
#
#   bash samples/legacy-behind-nginx/run.sh              # build, make certificates, start service + nginx, check, stop
#   bash samples/legacy-behind-nginx/run.sh --no-build   # the same without building (everything already built in Release)
#
# 1. makes a development CA and SVIDs with securecomms-dev (src/SecureComms.DevCert) in samples/legacy-behind-nginx/certs
#    (gitignored; development only: the CA key sits in a file there): legacy (the service), legacy-proxy (nginx),
#    orders and analytics (the callers curl plays);
# 2. starts the service (mutual TLS on 127.0.0.1:18451, plaintext for the proxy on 127.0.0.1:18452) and nginx
#    (mutual TLS on 127.0.0.1:18450) from nginx.conf.template, unprivileged-capable, in a private temporary directory;
# 3. prints one line per check, expected vs actual; 4. stops everything it started, and exits 1 if a check differed.
#
# SAMPLES_DOTNET_ARGS (default empty) is added to every dotnet build/run, e.g.
#   SAMPLES_DOTNET_ARGS="--artifacts-path /tmp/samples-artifacts" bash samples/legacy-behind-nginx/run.sh
# NGINX (default /usr/sbin/nginx) is the nginx binary (Debian: apt-get install nginx-light).
set -euo pipefail

sample="samples/legacy-behind-nginx"
source "$(dirname "${BASH_SOURCE[0]}")/../run-common.sh"
samples_init "$@"
nginx="${NGINX:-/usr/sbin/nginx}"
if [[ ! -x "$nginx" ]]; then
  echo "nginx not found at $nginx: install it (Debian/Ubuntu: apt-get install -y nginx-light) or set NGINX" >&2
  exit 1
fi

project="$root/$sample/SecureComms.Samples.Legacy"
certs="$root/$sample/certs"      # appsettings.json names ../certs/legacy.pem|.key and ../certs/bundle.pem
run="$work"                      # logs, the generated nginx.conf and nginx's own files
trust_domain="example.org"
proxy_port=18450                 # nginx, mutual TLS
mtls_port=18451                  # the service's own mutual-TLS listener (SecureComms:Server:Urls)
plaintext_port=18452             # the service's plaintext listener for nginx (SecureComms:Server:PlaintextEndpoints:proxy)

build_projects "$root/src/SecureComms.DevCert" "$project"
issue_certificates "$certs" "$trust_domain" legacy legacy-proxy orders analytics

# securecomms-dev's SVIDs carry the SPIFFE ID (URI SAN) and a common name equal to its last path segment, no DNS name;
# curl then checks the host name against the common name. So curl calls https://legacy-proxy:18450 (nginx's SVID)
# and --resolve maps the name to 127.0.0.1: nginx's certificate is checked against bundle.pem, with no -k.
via_nginx=(--cacert "$certs/bundle.pem" --resolve "legacy-proxy:$proxy_port:127.0.0.1")
nginx_url="https://legacy-proxy:$proxy_port"
as_orders=(--cert "$certs/orders.pem" --key "$certs/orders.key")
as_analytics=(--cert "$certs/analytics.pem" --key "$certs/analytics.key")

refuse_used_ports "$proxy_port" "$mtls_port" "$plaintext_port"

echo "== start"
start_service legacy "$project" "$run/legacy.log" dotnet run --no-build -c Release "${dotnet_args[@]}"
legacy_pgid="$started_pgid"

# nginx: the template with its placeholders filled in; "user root;" only when running as root.
mkdir -p "$run/temp"
user_directive=""
if [[ "$(id -u)" == 0 ]]; then
  user_directive="user root;"
fi
# (Comment lines are left as they are: they document the placeholders.)
sed -e "/^[[:space:]]*#/!{
  s|@USER_DIRECTIVE@|$user_directive|g
  s|@RUN_DIR@|$run|g
  s|@CERTS@|$certs|g
  s|@LISTEN_PORT@|$proxy_port|g
  s|@BACKEND_PORT@|$plaintext_port|g
}" "$sample/nginx.conf.template" > "$run/nginx.conf"
if grep -v '^[[:space:]]*#' "$run/nginx.conf" | grep '@[A-Z_]*@'; then
  echo "unsubstituted placeholders in $run/nginx.conf" >&2
  exit 1
fi
"$nginx" -t -q -c "$run/nginx.conf" -p "$run" -e "$run/error.log" \
  || { cat "$run/error.log" >&2 2>/dev/null; echo "nginx -t refused $run/nginx.conf" >&2; exit 1; }
start_service nginx "$run" "$run/nginx.out" "$nginx" -c "$run/nginx.conf" -p "$run" -e "$run/error.log"
nginx_pgid="$started_pgid"

wait_ready legacy "$legacy_pgid" "$run/legacy.log" "http://127.0.0.1:$plaintext_port/healthz"
echo "  legacy listening on https://127.0.0.1:$mtls_port (mutual TLS) and http://127.0.0.1:$plaintext_port (for nginx)"
wait_ready nginx "$nginx_pgid" "$run/error.log" "${via_nginx[@]}" "${as_orders[@]}" "$nginx_url/healthz"
echo "  nginx listening on https://127.0.0.1:$proxy_port (mutual TLS), forwarding to http://127.0.0.1:$plaintext_port"

# A forged header: orders' certificate, URL-encoded like $ssl_client_escaped_cert. Only its public part: anyone who
# ever saw orders' certificate (it is sent in every handshake) can build this.
urlencode() {
  local text="$1" out="" c i
  for ((i = 0; i < ${#text}; i++)); do
    c="${text:i:1}"
    case "$c" in
      [a-zA-Z0-9.~_-]) out+="$c" ;;
      *) printf -v c '%%%02X' "'$c"; out+="$c" ;;
    esac
  done
  printf '%s' "$out"
}
forged="X-Client-Cert: $(urlencode "$(sed -n '1,/-----END CERTIFICATE-----/p' "$certs/orders.pem")")"

echo "== checks"

# 1. orders through nginx: nginx verifies the chain and forwards the certificate; the service validates it as an SVID,
#    finds spiffe://example.org/orders, and the policy opens /records to it.
call "${via_nginx[@]}" "${as_orders[@]}" "$nginx_url/records"
check "orders' SVID -> nginx -> /records" 200 "$status" "$body"

# 2. analytics through nginx: a valid SVID, forwarded just the same, but the policy does not name it.
call "${via_nginx[@]}" "${as_analytics[@]}" "$nginx_url/records"
check "analytics' SVID -> nginx -> /records" 403 "$status" "$body"

# 3. analytics through nginx, sending its own X-Client-Cert with orders' certificate: nginx's proxy_set_header
#    replaces it with analytics' real certificate, so the service still sees analytics.
call "${via_nginx[@]}" "${as_analytics[@]}" -H "$forged" "$nginx_url/records"
check "analytics' SVID + forged X-Client-Cert (orders) -> nginx" 403 "$status" "$body"

# 4. no client certificate: with ssl_verify_client on, nginx completes the handshake and answers 400 itself
#    ("No required SSL certificate was sent"); nothing reaches the service.
call "${via_nginx[@]}" "$nginx_url/records"
detail="$body"
[[ "$body" == *"No required SSL certificate was sent"* ]] && detail="nginx: No required SSL certificate was sent"
check "no client certificate -> nginx" 400 "$status" "$detail"

# 5. straight to the plaintext port, no header: no caller identity at all, so default deny challenges: 401.
call "http://127.0.0.1:$plaintext_port/records"
check "direct to the plaintext port, no X-Client-Cert" 401 "$status" "$body"

# 6. straight to the plaintext port WITH a forged header: the peer is 127.0.0.1, a trusted proxy address, so the
#    forgery is believed. This is the trust model working as configured, and why the plaintext port must be
#    reachable only by the proxy (see README.md).
call -H "$forged" "http://127.0.0.1:$plaintext_port/records"
check "direct to plaintext port + forged header (see README)" 200 "$status" "$body"

# 7. the same forged header on the service's mutual-TLS listener, as analytics: address entries in TrustedProxies never
#    apply there, analytics is no trusted proxy, so the header is ignored (event 1204) and analytics gets its own 403.
call --cacert "$certs/bundle.pem" --resolve "legacy:$mtls_port:127.0.0.1" "${as_analytics[@]}" -H "$forged" "https://legacy:$mtls_port/records"
actual="$status"
for _ in $(seq 20); do # the console logger writes in the background
  if grep -q "ignored a forwarded client certificate header from spiffe://example.org/analytics" "$run/legacy.log"; then
    actual="$status+logged-1204"
    break
  fi
  sleep 0.1
done
check "analytics + forged header -> the service's own mTLS port" "403+logged-1204" "$actual" "$body"


finish_checks
