#!/usr/bin/env bash
# Runs Vivify's whole test suite (set-up first where something is missing).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/setup.sh"
cd "$root"
dotnet test tests/Vivify.Tests/Vivify.Tests.csproj -c Release -nologo "$@"
