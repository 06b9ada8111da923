#!/usr/bin/env bash
# Runs Vivify's whole test suite (set-up first where something is missing).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/setup.sh"
cd "$root"
log=$(mktemp); trap 'rm -f "$log"' EXIT
set +e
dotnet test tests/Vivify.Tests/Vivify.Tests.csproj -c Release -nologo "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
# one plain closing line: "N passed, N failed" (from dotnet test's own summary)
summary=$(grep -E "^(Passed|Failed)!" "$log" | tail -1)
if [[ -n $summary ]]; then
  passed=$(sed -E 's/.*Passed: *([0-9]+).*/\1/' <<<"$summary"); failed=$(sed -E 's/.*Failed: *([0-9]+),.*/\1/' <<<"$summary")
  echo "$passed passed, $failed failed"
fi
exit "$rc"
