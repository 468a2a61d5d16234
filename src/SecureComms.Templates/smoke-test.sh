#!/usr/bin/env bash
# Smoke test of the dotnet new templates, as CI runs it from the repository root once `dotnet pack` has put the
# SecureComms, SecureComms.AspNetCore and SecureComms.Testing packages in artifacts/packages:
#
#   src/SecureComms.Templates/smoke-test.sh [package-folder]     (default: artifacts/packages)
#
# It packs the template project, installs it into a private template hive (the user's templates are untouched),
# instantiates securecomms-api, securecomms-worker, securecomms-grpc, securecomms-worker --grpc and securecomms-gateway
# outside the repository with non-default names, trust domain and ports, builds all five with -warnaserror against the
# local packages,
# publishes the worker and checks that its output holds no Microsoft.AspNetCore.* assembly and its runtimeconfig.json
# names Microsoft.NETCore.App alone (the gRPC worker's build output too), mints a development CA and SVIDs, starts a
# development token server, starts the API and the gRPC service on 127.0.0.1, and runs the workers against them.
# It fails unless the API answered the worker with 200, the gRPC service answered the gRPC worker's call (with a
# certificate-bound token, opened by a rule on the gRPC path) with OK, a workload that rule does not name got
# PermissionDenied and a call without a token got Unauthenticated, as Grpc.Net.Client reports them. With curl and
# openssl, it starts the gateway in front of the API (external listener with a self-signed certificate, end-user tokens
# from the smoke authority) and fails unless alice (buyer) got 200 from the API through it (the API logging the gateway's
# SPIFFE ID and alice), bob (viewer) got the API's 403, and no token, or a forged user context alone, got 401 at the
# edge. Then it runs the API
# and the worker again with no certificate or bundle file, each with its identity from its own development SPIFFE
# Workload API (securecomms-dev workload-api serve from the Release build, rotating every 5 s, from the same CA), and
# fails unless the API answered the worker with 200 after a pushed rotation and both logged their first SVID from the
# Workload API (1801) and their file settings as unread (1805). The API's and the gRPC service's policy unit tests run as
# their generated CI step runs them (dotnet tool restore from the SecureComms.DevCert package under test, then
# securecomms-dev policy test): the shipped table must pass, and the same table with a wrong expectation must fail.
# KEEP_TMP=1 keeps the temporary folder for inspection.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
packages="$(cd "${1:-$repo/artifacts/packages}" && pwd)"
trust_domain="smoke.internal"
api="inventory"
worker="restocker"
audience="https://$api.$trust_domain"
grpc_service="ledger"
grpc_caller="auditor"
grpc_audience="https://$grpc_service.$trust_domain"
gateway="edge"
gateway_audience="https://$gateway.$trust_domain"

# securecomms-dev from the Release build of the solution, as .ci/run uses it: it serves the Workload API below.
devcert_dll="$repo/src/SecureComms.DevCert/bin/Release/net10.0/SecureComms.DevCert.dll"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/securecomms-templates.XXXXXX")"
sockets=""
pids=()
cleanup() {
  local status=$?
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [[ $status -ne 0 ]]; then
    for log in "$tmp"/*.log; do
      [[ -f "$log" ]] || continue
      echo "----- $(basename "$log") (last 40 lines)"
      tail -n 40 "$log"
    done
  fi
  if [[ "${KEEP_TMP:-0}" == "1" ]]; then
    echo "kept $tmp"
  else
    rm -rf "$tmp"
  fi
  [[ -z "$sockets" ]] || rm -rf "$sockets"
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { echo "==> $*"; }
fail() { echo "FAILED: $*" >&2; exit 1; }

version_of() { # the newest version of package $1 in the package folder
  local file
  file="$(find "$packages" -maxdepth 1 -name "$1.[0-9]*.nupkg" ! -name '*.symbols.nupkg' -printf '%f\n' | sort -V | tail -n 1)"
  [[ -n "$file" ]] || fail "no $1 package in $packages; run dotnet pack first"
  file="${file#"$1".}"
  echo "${file%.nupkg}"
}
version="$(version_of SecureComms.AspNetCore)"
[[ "$(version_of SecureComms)" == "$version" && "$(version_of SecureComms.Testing)" == "$version" \
  && "$(version_of SecureComms.DevCert)" == "$version" && "$(version_of SecureComms.Yarp)" == "$version" ]] \
  || fail "SecureComms, SecureComms.AspNetCore, SecureComms.Testing, SecureComms.DevCert and SecureComms.Yarp in $packages have different versions"
step "SecureComms $version from $packages; working in $tmp"

# Isolation: the generated projects must carry their own settings, so nothing from above the temporary folder applies,
# and their packages go to a private folder so that a SecureComms package of the same version restored earlier
# (from somewhere else) cannot stand in for the one under test.
for file in Directory.Build.props Directory.Build.targets Directory.Packages.props; do
  echo '<Project />' > "$tmp/$file"
done
sources="$(sed -n '/<packageSources>/,/<\/packageSources>/p' "$repo/nuget.config" | grep -o '<add [^>]*/>' || true)"
[[ -n "$sources" ]] || fail "no package source in $repo/nuget.config"
mapping=""
while read -r key; do
  mapping+="    <packageSource key=\"$key\"><package pattern=\"*\" /></packageSource>"$'\n'
done < <(grep -o 'key="[^"]*"' <<<"$sources" | sed 's/key="\(.*\)"/\1/')
fallback=""
user_packages="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
if [[ -d "$user_packages" ]] && ! compgen -G "$user_packages/securecomms*" >/dev/null; then
  fallback="  <fallbackPackageFolders><add key=\"user\" value=\"$user_packages\" /></fallbackPackageFolders>"
fi
cat > "$tmp/nuget.config" <<EOF
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <config><add key="globalPackagesFolder" value="$tmp/nuget-packages" /></config>
$fallback
  <packageSources>
    <clear />
    <add key="securecomms-local" value="$packages" />
$sources
  </packageSources>
  <packageSourceMapping>
    <packageSource key="securecomms-local"><package pattern="SecureComms" /><package pattern="SecureComms.*" /></packageSource>
$mapping  </packageSourceMapping>
</configuration>
EOF

step "pack and install the templates (private hive)"
dotnet pack "$repo/src/SecureComms.Templates" -c Release -o "$tmp/templates" --artifacts-path "$tmp/artifacts" \
  -nologo -v:q > "$tmp/pack.log" 2>&1 || fail "dotnet pack of the templates (see pack.log)"
template_package="$(find "$tmp/templates" -name 'SecureComms.Templates.*.nupkg' | head -n 1)"
hive="$tmp/hive"
dotnet new install "$template_package" --debug:custom-hive "$hive" > "$tmp/install.log" 2>&1 \
  || fail "dotnet new install (see install.log)"

step "instantiate securecomms-api, securecomms-worker, securecomms-grpc and securecomms-worker --grpc"
cd "$tmp"
dotnet new securecomms-api -n Smoke.Api -o api --debug:custom-hive "$hive" \
  --trust-domain "$trust_domain" --service-name "$api" --caller "spiffe://$trust_domain/$worker" --port 9443 \
  --securecomms-version "$version" > "$tmp/new.log" 2>&1 || fail "dotnet new securecomms-api (see new.log)"
dotnet new securecomms-worker -n Smoke.Worker -o worker --debug:custom-hive "$hive" \
  --trust-domain "$trust_domain" --service-name "$worker" --api "$api" --port 9443 \
  --securecomms-version "$version" >> "$tmp/new.log" 2>&1 || fail "dotnet new securecomms-worker (see new.log)"
dotnet new securecomms-grpc -n Smoke.Grpc -o grpc --debug:custom-hive "$hive" \
  --trust-domain "$trust_domain" --service-name "$grpc_service" --caller "spiffe://$trust_domain/$grpc_caller" --port 9444 \
  --securecomms-version "$version" >> "$tmp/new.log" 2>&1 || fail "dotnet new securecomms-grpc (see new.log)"
dotnet new securecomms-worker -n Smoke.GrpcWorker -o grpc-worker --debug:custom-hive "$hive" --grpc \
  --trust-domain "$trust_domain" --service-name "$grpc_caller" --api "$grpc_service" --port 9444 \
  --securecomms-version "$version" >> "$tmp/new.log" 2>&1 || fail "dotnet new securecomms-worker --grpc (see new.log)"
dotnet new securecomms-gateway -n Smoke.Gateway -o gateway --debug:custom-hive "$hive" \
  --trust-domain "$trust_domain" --service-name "$gateway" --backend "$api" --backend-port 9447 --port 9445 --edge-port 9446 \
  --securecomms-version "$version" >> "$tmp/new.log" 2>&1 || fail "dotnet new securecomms-gateway (see new.log)"
# Every default name, trust domain and port was replaced (a leftover would be a template that ignores its parameters).
leftovers="$(grep -rlE 'example\.org|billing|orders|8443' grpc grpc-worker || true)"
[[ -z "$leftovers" ]] || fail "default names left in the generated gRPC projects: $leftovers"
leftovers="$(grep -rlE 'example\.org|orders|gateway|8443|8444|9443' gateway || true)"
[[ -z "$leftovers" ]] || fail "default names left in the generated gateway: $leftovers"
cp -r "$repo/src/SecureComms.Templates/smoke/SmokeAuthority" "$tmp/authority"

step "build the generated projects with -warnaserror"
build() { # build <project>...: each with -warnaserror into $tmp/bin/<name>, its log in $tmp/build-<name>.log
  local project name
  for project in "$@"; do
    name="$(basename "$project" .csproj)"
    dotnet build "$project" -c Release -warnaserror -nologo -v:q -o "$tmp/bin/$name" > "$tmp/build-$name.log" 2>&1 \
      || fail "build of $project (see build-$name.log)"
    grep -Eq ' [1-9][0-9]* Warning\(s\)|: warning ' "$tmp/build-$name.log" && fail "$project built with warnings (see build-$name.log)"
  done
  return 0
}
# Two at a time, for CI's two cores: the gRPC pair in a background subshell (its fail only ends the subshell, and the
# wait below reports it), the HTTP pair here.
build grpc/Smoke.Grpc.csproj grpc-worker/Smoke.GrpcWorker.csproj &
grpc_builds=$!
pids+=($grpc_builds)
build api/Smoke.Api.csproj worker/Smoke.Worker.csproj gateway/Smoke.Gateway.csproj
wait "$grpc_builds" || fail "the gRPC projects did not build (see above)"
unset 'pids[-1]' # reaped: nothing left to stop at exit

# As .github/workflows/ci.yml of the generated projects runs them: the tool pinned in .config/dotnet-tools.json (the
# SecureComms.DevCert package under test, through the nuget.config above), then the project's own table.
step "run the generated policy tests with the tool of their manifest"
# The CLI remembers where it found a local tool by id and version (~/.dotnet/toolResolverCache): a SecureComms.DevCert
# of the same version restored by an earlier run into a folder deleted since would be looked for there and not found.
# A CLI home of this run's own (for these tool commands only) keeps that cache beside the packages under test.
policy_tests() { # policy_tests <folder>
  local folder=$1 status=0
  (cd "$folder" && DOTNET_CLI_HOME="$tmp/cli-home" dotnet tool restore) > "$tmp/tool-restore-$folder.log" 2>&1 \
    || fail "dotnet tool restore in $folder (see tool-restore-$folder.log)"
  (cd "$folder" && DOTNET_CLI_HOME="$tmp/cli-home" dotnet tool run securecomms-dev policy test --config appsettings.json,securecomms.policy.json policy-tests.json) \
    > "$tmp/policy-tests-$folder.log" 2>&1 || fail "the policy tests of $folder (see policy-tests-$folder.log)"
  echo "    $folder: $(tail -n 1 "$tmp/policy-tests-$folder.log")"
  # The step can fail: the same table expecting the opposite of its first case must exit 1.
  sed '0,/"expect": "allow"/s//"expect": "deny"/' "$folder/policy-tests.json" > "$tmp/policy-tests-$folder-wrong.json"
  (cd "$folder" && DOTNET_CLI_HOME="$tmp/cli-home" dotnet tool run securecomms-dev policy test --config appsettings.json,securecomms.policy.json "$tmp/policy-tests-$folder-wrong.json") \
    > "$tmp/policy-tests-$folder-wrong.log" 2>&1 || status=$?
  [[ $status -eq 1 ]] || fail "a wrong expectation in $folder's policy tests exited $status, not 1 (see policy-tests-$folder-wrong.log)"
}
policy_tests api
policy_tests grpc

# A worker only calls out: SecureComms' core needs no ASP.NET Core, so neither does the worker. Published, it must hold
# no Microsoft.AspNetCore.* assembly and run on Microsoft.NETCore.App alone; the worker below runs from this output.
step "publish the worker: no ASP.NET Core in it"
dotnet publish worker/Smoke.Worker.csproj -c Release -nologo -v:q -o "$tmp/publish/Smoke.Worker" > "$tmp/publish-worker.log" 2>&1 \
  || fail "dotnet publish of the worker (see publish-worker.log)"
aspnetcore="$(find "$tmp/publish/Smoke.Worker" -name 'Microsoft.AspNetCore.*' -printf '%P ' )"
[[ -z "$aspnetcore" ]] || fail "the worker's published output holds ASP.NET Core: $aspnetcore"
runtimeconfig="$tmp/publish/Smoke.Worker/Smoke.Worker.runtimeconfig.json"
[[ -f "$runtimeconfig" ]] || fail "no $(basename "$runtimeconfig") in the worker's published output"
frameworks="$(grep -o '"name": *"[^"]*"' "$runtimeconfig" | sed 's/.*"\([^"]*\)"$/\1/' | sort -u | tr '\n' ' ')"
[[ "$frameworks" == "Microsoft.NETCore.App " ]] \
  || fail "the worker's runtimeconfig.json names the shared frameworks '${frameworks% }', not Microsoft.NETCore.App alone"
echo "    frameworks: ${frameworks% }; $(find "$tmp/publish/Smoke.Worker" -name '*.dll' | wc -l) assemblies, no Microsoft.AspNetCore.*"
# The gRPC worker (Grpc.Net.ClientFactory) neither: checked on its build output, which it runs from.
aspnetcore="$(find "$tmp/bin/Smoke.GrpcWorker" -name 'Microsoft.AspNetCore.*' -printf '%P ' )"
[[ -z "$aspnetcore" ]] || fail "the gRPC worker's output holds ASP.NET Core: $aspnetcore"
grep -q '"Microsoft.AspNetCore.App"' "$tmp/bin/Smoke.GrpcWorker/Smoke.GrpcWorker.runtimeconfig.json" \
  && fail "the gRPC worker's runtimeconfig.json names Microsoft.AspNetCore.App"

dotnet build authority/SmokeAuthority.csproj -c Release -nologo -v:q -p:SecureCommsVersion="$version" \
  -o "$tmp/bin/authority" > "$tmp/build-authority.log" 2>&1 || fail "build of the smoke-test authority (see build-authority.log)"

wait_for() { # wait_for <seconds> <pid> <what> <command...>: until the command succeeds or the process exits
  local deadline=$((SECONDS + $1)) pid=$2 what=$3
  shift 3
  until "$@"; do
    kill -0 "$pid" 2>/dev/null || fail "$what exited early"
    ((SECONDS < deadline)) || fail "$what not ready after ${deadline}s"
    sleep 0.5
  done
}

step "start the development CA and token server"
certs="$tmp/certs"
# The worker may also ask for tokens for the gRPC service: it is the workload that the service's rule does not open.
# The gateway (edge) is a token client for the API; alice (buyer) and bob (viewer) are end users with tokens for it.
(cd "$tmp/bin/authority" && exec dotnet SmokeAuthority.dll "$certs" "$trust_domain" \
  "$api" "$worker=$audience,$grpc_audience" "$grpc_service" "$grpc_caller=$grpc_audience" "$gateway=$audience" \
  --user "alice:buyer=$gateway_audience" --user "bob:viewer=$gateway_audience") \
  > "$tmp/authority.log" 2>&1 &
pids+=($!)
authority_pid=$!
wait_for 60 "$authority_pid" "the token server" test -s "$certs/issuer.txt"
issuer="$(cat "$certs/issuer.txt")"

# Configuration through environment variables, as in Kubernetes. A trust domain has dots, which a shell variable name
# cannot hold, hence env(1).
common=(
  "SecureComms__TrustBundles__${trust_domain}__Path=$certs/bundle.pem"
  "DOTNET_NOLOGO=1"
)

step "start the API and the gRPC service on 127.0.0.1"
(cd "$tmp/bin/Smoke.Api" && exec env "${common[@]}" \
  "SecureComms__Certificate__CertificatePath=$certs/$api.pem" \
  "SecureComms__Certificate__KeyPath=$certs/$api.key" \
  "SecureComms__Server__Urls__0=https://127.0.0.1:0" \
  "SecureComms__TokenValidation__Authority=$issuer" \
  "SecureComms__UserContext__TrustedGateways__0=spiffe://$trust_domain/$gateway" \
  "SecureComms__Authorization__Rules__2__Name=gateway-reads-info-for-buyers" \
  "SecureComms__Authorization__Rules__2__Callers__0=spiffe://$trust_domain/$gateway" \
  "SecureComms__Authorization__Rules__2__Methods__0=GET" \
  "SecureComms__Authorization__Rules__2__Paths__0=/info" \
  "SecureComms__Authorization__Rules__2__RequireUser=true" \
  "SecureComms__Authorization__Rules__2__UserClaims__role=buyer" \
  "SecureComms__Authorization__LogAllowedRequests=true" \
  dotnet Smoke.Api.dll) > "$tmp/api.log" 2>&1 &
pids+=($!)
api_pid=$!
(cd "$tmp/bin/Smoke.Grpc" && exec env "${common[@]}" \
  "SecureComms__Certificate__CertificatePath=$certs/$grpc_service.pem" \
  "SecureComms__Certificate__KeyPath=$certs/$grpc_service.key" \
  "SecureComms__Server__Urls__0=https://127.0.0.1:0" \
  "SecureComms__TokenValidation__Authority=$issuer" \
  dotnet Smoke.Grpc.dll) > "$tmp/grpc.log" 2>&1 &
pids+=($!)
grpc_pid=$!
listening() { grep -Eo 'Now listening on: https://127\.0\.0\.1:[0-9]+' "$1" > /dev/null; }
wait_for 60 "$api_pid" "the API" listening "$tmp/api.log"
wait_for 60 "$grpc_pid" "the gRPC service" listening "$tmp/grpc.log"
api_url="$(grep -Eo 'https://127\.0\.0\.1:[0-9]+' "$tmp/api.log" | head -n 1)"
grpc_url="$(grep -Eo 'https://127\.0\.0\.1:[0-9]+' "$tmp/grpc.log" | head -n 1)"
echo "    API at $api_url, gRPC service at $grpc_url, token server at $issuer"

step "run the worker until the API answers it"
status=0
(cd "$tmp/publish/Smoke.Worker" && exec timeout 120 env "${common[@]}" \
  "SecureComms__Certificate__CertificatePath=$certs/$worker.pem" \
  "SecureComms__Certificate__KeyPath=$certs/$worker.key" \
  "SecureComms__Clients__${api}__BaseAddress=$api_url" \
  "SecureComms__Clients__${api}__Token__Authority=$issuer" \
  "Worker__RunOnce=true" "Worker__Interval=00:00:01" "Worker__MaxAttempts=20" \
  dotnet Smoke.Worker.dll) > "$tmp/worker.log" 2>&1 || status=$?
expected="$api answered GET /hello with 200: hello spiffe://$trust_domain/$worker, this is $api"
grep -qF "$expected" "$tmp/worker.log" || fail "the worker never logged '$expected' (exit code $status)"
[[ $status -eq 0 ]] || fail "the worker exited with $status after the call"
echo "    $(grep -F "$expected" "$tmp/worker.log" | head -n 1 | sed 's/^ *//')"

# The 200 above proves the happy path; these prove the API insists on a bound token and serves its health checks.
# (curl checks the API's certificate against the bundle and the host name localhost, which the smoke SVIDs also carry.)
if command -v curl > /dev/null; then
  call() { curl -s -o /dev/null -w '%{http_code}' --cacert "$certs/bundle.pem" --cert "$certs/$worker.pem" --key "$certs/$worker.key" "${api_url/127.0.0.1/localhost}$1" || true; }
  [[ "$(call /hello)" == "401" ]] || fail "GET /hello with the worker's SVID but no token did not answer 401"
  [[ "$(call /healthz)" == "200" ]] || fail "GET /healthz over mutual TLS did not answer 200"
  echo "    without a token: 401; /healthz over mutual TLS: 200"
else
  echo "    curl not found: skipped the no-token and /healthz checks"
fi

# The gRPC worker from its build output, as each of three callers. The successful call and the two refusals are
# independent, so they run side by side. The refusals are asserted on the gRPC status Grpc.Net.Client reports, whether
# the service answers with HTTP 401/403 or with a gRPC Trailers-Only response.
step "run the gRPC worker: the opened caller with a bound token, a caller the rule does not name, a caller without a token"
grpc_worker() { # grpc_worker <log> <workload> <max attempts> [VAR=value...]: run the gRPC worker as <workload>
  local log=$1 workload=$2 attempts=$3
  shift 3
  (cd "$tmp/bin/Smoke.GrpcWorker" && exec timeout 120 env "${common[@]}" \
    "SecureComms__Certificate__CertificatePath=$certs/$workload.pem" \
    "SecureComms__Certificate__KeyPath=$certs/$workload.key" \
    "SecureComms__Clients__${grpc_service}__BaseAddress=$grpc_url" \
    "SecureComms__Clients__${grpc_service}__Token__Authority=$issuer" \
    "Worker__RunOnce=true" "Worker__Interval=00:00:01" "Worker__MaxAttempts=$attempts" "Worker__Deadline=00:00:20" \
    "$@" dotnet Smoke.GrpcWorker.dll) > "$tmp/$log" 2>&1
}
grpc_worker grpc-worker.log "$grpc_caller" 20 &
ok_pid=$!
# restocker has an SVID and tokens for the gRPC service, but the service's policy opens SayHello to auditor alone.
grpc_worker grpc-worker-denied.log "$worker" 1 "SecureComms__Clients__${grpc_service}__Token__ClientId=$worker" &
denied_pid=$!
# auditor again, through a client configured without a Token section: the call carries no access token.
grpc_worker grpc-worker-no-token.log "$grpc_caller" 1 "Worker__Client=notoken" \
  "SecureComms__Clients__notoken__BaseAddress=$grpc_url" \
  "SecureComms__Clients__notoken__ExpectedServer=spiffe://$trust_domain/$grpc_service" &
no_token_pid=$!
ok_status=0 denied_status=0 no_token_status=0
wait "$ok_pid" || ok_status=$?
wait "$denied_pid" || denied_status=$?
wait "$no_token_pid" || no_token_status=$?

method="/greet.v1.Greeter/SayHello"
expected="$grpc_service answered $method with OK: hello spiffe://$trust_domain/$grpc_caller, this is $grpc_service"
grep -qF "$expected" "$tmp/grpc-worker.log" || fail "the gRPC worker never logged '$expected' (exit code $ok_status)"
[[ $ok_status -eq 0 ]] || fail "the gRPC worker exited with $ok_status after the call"
echo "    $(grep -F "$expected" "$tmp/grpc-worker.log" | head -n 1 | sed 's/^ *//')"

expected="$grpc_service answered $method with PermissionDenied"
grep -qF "$expected" "$tmp/grpc-worker-denied.log" \
  || fail "spiffe://$trust_domain/$worker never logged '$expected' (exit code $denied_status)"
[[ $denied_status -eq 1 ]] || fail "the gRPC worker as $worker exited with $denied_status, not 1, after a refused call"
echo "    spiffe://$trust_domain/$worker: $(grep -F "$expected" "$tmp/grpc-worker-denied.log" | head -n 1 | sed 's/^ *//')"

expected="notoken answered $method with Unauthenticated"
grep -qF "$expected" "$tmp/grpc-worker-no-token.log" \
  || fail "the gRPC worker without a token never logged '$expected' (exit code $no_token_status)"
[[ $no_token_status -eq 1 ]] || fail "the gRPC worker without a token exited with $no_token_status, not 1, after a refused call"
echo "    without a token: $(grep -F "$expected" "$tmp/grpc-worker-no-token.log" | head -n 1 | sed 's/^ *//')"

# The generated gateway in front of the API: end users with a bearer token on its external listener (an ordinary
# self-signed certificate for localhost), the API behind it over mutual TLS with the gateway's certificate-bound token
# and a user context minted for the user. The API opens /info to the gateway for a verified user with role buyer
# (the rule added at its start above). The token server asks every client for a certificate, which JwtBearer does not
# present: the gateway reads its metadata and keys from the authority's second listener, and trusts the development CA
# for it as it would a public CA (SSL_CERT_FILE). The route /inventory/... reaches the API's /... (PathRemovePrefix).
gateway_ran=""
if command -v curl > /dev/null && command -v openssl > /dev/null; then
  step "run the generated gateway in front of the API: end users with a bearer token from outside"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$tmp/edge-tls.key" -out "$tmp/edge-tls.pem" \
    > "$tmp/openssl.log" 2>&1 || fail "openssl could not make the gateway's external certificate (see openssl.log)"
  wait_for 30 "$authority_pid" "the end users' authority" test -s "$certs/users-authority.txt"
  users_authority="$(cat "$certs/users-authority.txt")"
  (cd "$tmp/bin/Smoke.Gateway" && exec env "${common[@]}" \
    "SSL_CERT_FILE=$certs/bundle.pem" \
    "SecureComms__Certificate__CertificatePath=$certs/$gateway.pem" \
    "SecureComms__Certificate__KeyPath=$certs/$gateway.key" \
    "SecureComms__Server__Urls__0=https://127.0.0.1:0" \
    "Kestrel__Endpoints__Edge__Url=https://127.0.0.1:0" \
    "Kestrel__Endpoints__Edge__Certificate__Path=$tmp/edge-tls.pem" \
    "Kestrel__Endpoints__Edge__Certificate__KeyPath=$tmp/edge-tls.key" \
    "EndUsers__Authority=$users_authority" \
    "SecureComms__Clients__${api}__Token__Authority=$issuer" \
    "SecureComms__Clients__${api}__Token__Scope=" \
    "ReverseProxy__Clusters__${api}__Destinations__${api}-1__Address=$api_url" \
    "ReverseProxy__Routes__${api}__Transforms__5__PathRemovePrefix=/$api" \
    dotnet Smoke.Gateway.dll) > "$tmp/gateway.log" 2>&1 &
  pids+=($!)
  gateway_pid=$!
  two_listeners() { [[ "$(grep -sEc 'Now listening on: https://127\.0\.0\.1:[0-9]+' "$1")" -ge 2 ]]; }
  wait_for 60 "$gateway_pid" "the gateway" two_listeners "$tmp/gateway.log"
  # Which of the two is the external listener: the one that answers /healthz without a client certificate.
  edge_url=""
  for url in $(grep -Eo 'https://127\.0\.0\.1:[0-9]+' "$tmp/gateway.log" | sort -u); do
    code="$(curl -s -o /dev/null -w '%{http_code}' --cacert "$tmp/edge-tls.pem" "${url/127.0.0.1/localhost}/healthz" || true)"
    [[ "$code" == "200" ]] && edge_url="${url/127.0.0.1/localhost}"
  done
  [[ -n "$edge_url" ]] || fail "no listener of the gateway answered GET /healthz without a client certificate (see gateway.log)"
  echo "    gateway's external listener at $edge_url, end users' authority at $users_authority"
  outside() { # outside <path> [curl args...]: status and body, as an outside client of the gateway
    local path=$1
    shift
    curl -s -o "$tmp/edge-body" -w '%{http_code}' --cacert "$tmp/edge-tls.pem" "$@" "$edge_url$path" || true
  }
  forged_context="eyJhbGciOiJub25lIiwidHlwIjoic2VjdXJlY29tbXMtdWMrand0In0.eyJzdWIiOiJhbGljZSIsInJvbGUiOiJidXllciJ9."
  code="$(outside "/$api/info" -H "Authorization: Bearer $(cat "$certs/user-alice.jwt")")"
  [[ "$code" == "200" ]] && grep -qF "\"service\":\"$api\"" "$tmp/edge-body" \
    || fail "alice (buyer) through the gateway got $code, not 200 from $api: $(head -c 300 "$tmp/edge-body") (see gateway.log, api.log)"
  allowed="SecureComms allowed spiffe://$trust_domain/$gateway (user alice) GET /info"
  grep -qF "$allowed" "$tmp/api.log" || fail "$api did not log '$allowed' (event 1401; see api.log)"
  echo "    alice (buyer) -> $gateway -> $api GET /info: 200; $api logged: $(grep -F "$allowed" "$tmp/api.log" | head -n 1 | sed 's/^.*SecureComms allowed/allowed/')"
  code="$(outside "/$api/info" -H "Authorization: Bearer $(cat "$certs/user-bob.jwt")")"
  [[ "$code" == "403" ]] || fail "bob (viewer) through the gateway got $code, not 403 from $api's rule for buyers: $(head -c 300 "$tmp/edge-body")"
  code="$(outside "/$api/info")"
  [[ "$code" == "401" ]] || fail "no user token at the gateway got $code, not 401: $(head -c 300 "$tmp/edge-body")"
  code="$(outside "/$api/info" -H "SecureComms-User-Context: $forged_context")"
  [[ "$code" == "401" ]] || fail "a forged SecureComms-User-Context without a user token at the gateway got $code, not 401: $(head -c 300 "$tmp/edge-body")"
  echo "    bob (viewer): 403 from $api's rule; no user token: 401 at the edge; forged user context, no user token: 401 at the edge"
  gateway_ran="; the generated gateway forwarded end users to the API"
else
  echo "    curl or openssl not found: skipped running the gateway"
fi

# The same API and worker again with no certificate or bundle file: each takes its SVID, key and bundle from its own
# development Workload API (securecomms-dev workload-api serve, from the CA the token server trusts), which rotates
# the SVID every few seconds. The file keys the generated appsettings.json carry point at paths that do not exist:
# with Certificate:Source=WorkloadApi they are not read (event 1805 names them), and a read would fail. The token
# arrangement is the one above: the worker's token is bound to its Workload API SVID.
step "run the API and the worker again with identities from the SPIFFE Workload API only (no certificate file)"
wl_started=$SECONDS
[[ -f "$devcert_dll" ]] || fail "no $devcert_dll; build the solution in Release first (dotnet build SecureComms.sln -c Release)"
sockets="$(mktemp -d /tmp/sc-XXXXXXXX)" # Unix socket paths must stay under 108 bytes, whatever TMPDIR is
absent="$tmp/no-such-folder"
no_files=(
  "SecureComms__Certificate__Source=WorkloadApi"
  "SecureComms__Certificate__CertificatePath=$absent/svid.pem"
  "SecureComms__Certificate__KeyPath=$absent/svid_key.pem"
  "SecureComms__TrustBundles__${trust_domain}__Path=$absent/bundle.pem"
  "DOTNET_NOLOGO=1"
)
workload_api() { # workload_api <workload>: a development Workload API for spiffe://<trust domain>/<workload>
  dotnet "$devcert_dll" workload-api serve --ca "$certs" --socket "$sockets/$1.sock" \
    --spiffe-id "spiffe://$trust_domain/$1" --ttl 2m --rotate-every 5s > "$tmp/workload-api-$1.log" 2>&1 &
  pids+=($!)
}
workload_api "$api"
api_agent_pid=$!
workload_api "$worker"
worker_agent_pid=$!
serving() { grep -q '^SPIFFE_ENDPOINT_SOCKET=' "$1"; }
wait_for 60 "$api_agent_pid" "the Workload API of $api" serving "$tmp/workload-api-$api.log"
(cd "$tmp/bin/Smoke.Api" && exec env "${no_files[@]}" \
  "SecureComms__WorkloadApi__Socket=unix://$sockets/$api.sock" \
  "SecureComms__Server__Urls__0=https://127.0.0.1:0" \
  "SecureComms__TokenValidation__Authority=$issuer" \
  dotnet Smoke.Api.dll) > "$tmp/api-workload-api.log" 2>&1 &
pids+=($!)
wl_api_pid=$!
wait_for 60 "$worker_agent_pid" "the Workload API of $worker" serving "$tmp/workload-api-$worker.log"
wait_for 60 "$wl_api_pid" "the API (Workload API)" listening "$tmp/api-workload-api.log"
wl_api_url="$(grep -Eo 'https://127\.0\.0\.1:[0-9]+' "$tmp/api-workload-api.log" | head -n 1)"
# A pushed rotation, used like a rotated file: the worker's handshake below meets the API's rotated SVID.
rotated() { grep -q "loaded workload certificate spiffe://$trust_domain/$1 from the SPIFFE Workload API" "$2"; }
wait_for 30 "$wl_api_pid" "a rotation pushed to the API" rotated "$api" "$tmp/api-workload-api.log"
status=0
(cd "$tmp/publish/Smoke.Worker" && exec timeout 120 env "${no_files[@]}" \
  "SecureComms__WorkloadApi__Socket=unix://$sockets/$worker.sock" \
  "SecureComms__Clients__${api}__BaseAddress=$wl_api_url" \
  "SecureComms__Clients__${api}__Token__Authority=$issuer" \
  "Worker__RunOnce=true" "Worker__Interval=00:00:01" "Worker__MaxAttempts=20" \
  dotnet Smoke.Worker.dll) > "$tmp/worker-workload-api.log" 2>&1 || status=$?
expected="$api answered GET /hello with 200: hello spiffe://$trust_domain/$worker, this is $api"
grep -qF "$expected" "$tmp/worker-workload-api.log" || fail "the worker (Workload API) never logged '$expected' (exit code $status)"
[[ $status -eq 0 ]] || fail "the worker (Workload API) exited with $status after the call"
echo "    $(grep -F "$expected" "$tmp/worker-workload-api.log" | head -n 1 | sed 's/^ *//')"
# Where each took its identity from: the first SVID from the Workload API (1801), the file keys named unread (1805), and
# no certificate loaded from anywhere else (every 1000 names the Workload API).
for side in "$api:api-workload-api.log" "$worker:worker-workload-api.log"; do
  workload="${side%%:*}" log="$tmp/${side#*:}"
  grep -q '\[1801\]' "$log" && grep -q "received its first X.509-SVID spiffe://$trust_domain/$workload from the Workload API at unix://$sockets/$workload.sock" "$log" \
    || fail "$workload did not log its first X.509-SVID from the Workload API (event 1801; see ${side#*:})"
  grep -q '\[1805\]' "$log" && grep -q "so these settings are not read: .*SecureComms:Certificate:CertificatePath" "$log" \
    || fail "$workload did not log that its certificate file settings are not read (event 1805; see ${side#*:})"
  if grep -A1 '\[1000\]' "$log" | grep 'loaded workload certificate' | grep -qv 'from the SPIFFE Workload API'; then
    fail "$workload loaded a certificate from somewhere else than the Workload API (see ${side#*:})"
  fi
done
[[ ! -e "$absent" ]] || fail "$absent exists: the absent file settings prove nothing"
rotations="$(grep -c "loaded workload certificate spiffe://$trust_domain/$api from the SPIFFE Workload API" "$tmp/api-workload-api.log" || true)"
echo "    $api and $worker: first SVID from the Workload API (1801), file settings unread (1805), no file read; $api rotated $rotations time(s) by push ($((SECONDS - wl_started)) s)"

step "OK: generated workers called a generated API and a generated gRPC service with mutual TLS and certificate-bound tokens$gateway_ran"
