#!/usr/bin/env bash
# Mutation testing of SecureComms' security-critical code with dotnet-stryker (pinned in tests/.config/dotnet-tools.json).
# Usage: bash tests/mutation/run.sh [area ...]   (no area: all of tests/mutation/areas/*.json)
# Each area file names the project, the test project, the files to mutate and the tests that guard them. The reports go
# to artifacts/mutation/<area>/ (html, json); the last line per area is its mutation score.
# Cost on 2 cores: about 80 s per area before the first mutant, then 0.3-2.2 s per mutant (see tests/MUTATION.md).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
areas=("$@")
if ((${#areas[@]} == 0)); then
  for f in tests/mutation/areas/*.json; do areas+=("$(basename "$f" .json)"); done
fi
(cd tests && dotnet tool restore >/dev/null)
summary=()
for area in "${areas[@]}"; do
  spec="tests/mutation/areas/$area.json"
  [ -f "$spec" ] || { echo "no such area: $area (see tests/mutation/areas/)"; exit 2; }
  out="$root/artifacts/mutation/$area"
  rm -rf "$out"; mkdir -p "$out"
  project=$(jq -r .project "$spec")
  tests=$(jq -r '."test-project"' "$spec")
  # Stryker wants the test project's absolute path and runs from that project's folder.
  jq --arg tests "$root/$tests" --arg project "$(basename "$project")" '{ "stryker-config": {
      project: $project, "test-projects": [$tests], mutate: .mutate, "test-case-filter": ."test-case-filter",
      "coverage-analysis": (."coverage-analysis" // "perTest"), concurrency: (.concurrency // 2), reporters: ["json", "html", "cleartext"],
      "additional-timeout": 5000, "mutation-level": "Standard", "ignore-methods": (."ignore-methods" // []) } }' "$spec" > "$out/stryker-config.json"
  echo "== mutation: $area"
  (cd "$(dirname "$tests")" && dotnet dotnet-stryker -f "$out/stryker-config.json" -O "$out" --skip-version-check) > "$out/stryker.log" 2>&1 \
    || { tail -40 "$out/stryker.log"; echo "stryker failed for $area (log: $out/stryker.log)"; exit 1; }
  report=$(find "$out" -name mutation-report.json | head -1)
  # Score as Stryker computes it: detected (killed, timeout) over valid mutants (detected + survived + no coverage).
  line=$(jq -r --arg area "$area" '[.files[].mutants[].status] as $s
    | ($s | map(select(. == "Killed" or . == "Timeout")) | length) as $detected
    | ($s | map(select(. == "Survived" or . == "NoCoverage")) | length) as $undetected
    | "\($area): \(if $detected + $undetected == 0 then 0 else ($detected * 1000 / ($detected + $undetected) | round) / 10 end) % (\($detected) detected, \($s | map(select(. == "Survived")) | length) survived, \($s | map(select(. == "NoCoverage")) | length) no coverage, \($s | map(select(. == "CompileError")) | length) compile errors, \($s | map(select(. == "Ignored")) | length) ignored)"' "$report")
  jq -r '.files | to_entries[] | .key as $f | .value.mutants[] | select(.status == "Survived" or .status == "NoCoverage")
    | "  \(.status) \($f | split("/") | last):\(.location.start.line) \(.mutatorName): \(.replacement // "" | gsub("\n"; " ") | .[0:80])"' "$report" > "$out/survivors.txt"
  echo "$line"; echo "  survivors: $out/survivors.txt"
  summary+=("$line")
done
echo "== mutation scores"
printf '%s\n' "${summary[@]}"
