#!/usr/bin/env bash
# Runs Vivify's whole test suite (set-up first where something is missing): the xunit tests, then
# the web app's end-to-end browser test (only when no arguments narrow the dotnet test run).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/setup.sh"
cd "$root"
log=$(mktemp); trap 'rm -f "$log"' EXIT
set +e
dotnet test tests/Vivify.Tests/Vivify.Tests.csproj -c Release -nologo "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
# the web app end to end in a real browser (tests/browser/): needs the Release CLI, built above by dotnet test
set +e
if [[ $# -eq 0 ]]; then
  dotnet build src/Vivify.Cli/Vivify.Cli.csproj -c Release -nologo -v q >/dev/null 2>&1
  node tests/browser/reactive-profile.mjs 2>&1 | tee -a "$log"
  brc=${PIPESTATUS[0]}
  [[ $brc -ne 0 && $rc -eq 0 ]] && rc=$brc
fi
set -e
# one plain closing line: "N passed, N failed" (dotnet test's own summary plus the browser test's)
summary=$(grep -E "^(Passed|Failed)!" "$log" | tail -1)
passed=0; failed=0
if [[ -n $summary ]]; then
  passed=$(sed -E 's/.*Passed: *([0-9]+).*/\1/' <<<"$summary"); failed=$(sed -E 's/.*Failed: *([0-9]+),.*/\1/' <<<"$summary")
fi
browser=$(grep -E "^browser: [0-9]+ passed, [0-9]+ failed" "$log" | tail -1)
if [[ -n $browser ]]; then
  passed=$((passed + $(sed -E 's/browser: ([0-9]+) passed.*/\1/' <<<"$browser"))); failed=$((failed + $(sed -E 's/.* ([0-9]+) failed/\1/' <<<"$browser")))
elif [[ $# -eq 0 ]]; then
  failed=$((failed + 1))   # the browser test did not report: count it as failed
fi
[[ -n $summary || -n $browser ]] && echo "$passed passed, $failed failed"
exit "$rc"
