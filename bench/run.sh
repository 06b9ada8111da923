#!/usr/bin/env bash
# Prints Vivify's benchmark figures, with dlib's own C++ predictor timed in the same run as the
# reference (built here from bench/dlib-reference when g++ and Debian's libdlib-dev are present).
# Usage: bench/run.sh            quick figures (about a minute)
#        bench/run.sh --full     then the BenchmarkDotNet suites too (several minutes)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/setup.sh"
export OPENCV_LOG_LEVEL=ERROR OPENCV_FFMPEG_LOGLEVEL=-8
extra=()
if ! dpkg-query -W -f='${Status}' libdlib-dev 2>/dev/null | grep -q "install ok installed" && [[ $(id -u) -eq 0 ]]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libdlib-dev >/dev/null 2>&1 || true
fi
if command -v g++ >/dev/null && [[ -f /usr/include/dlib/image_processing.h ]]; then
  bin="$root/bench/dlib-reference/bin/predict_timing"
  mkdir -p "$(dirname "$bin")"
  [[ -x "$bin" && "$bin" -nt "$root/bench/dlib-reference/predict_timing.cpp" ]] || \
    g++ -O2 -o "$bin" "$root/bench/dlib-reference/predict_timing.cpp" -ldlib -lblas -llapack -lpng -ljpeg
  out=$("$bin" /usr/share/dlib/shape_predictor_68_face_landmarks.dat "$root/tests/Vivify.Tests/data/golden" 20)
  extra=(--dlib-us "$(awk '/dlib_per_face_us/{print $2}' <<<"$out")" --dlib-load-s "$(awk '/dlib_load_s/{print $2}' <<<"$out")")
else
  echo "(dlib C++ reference not built: needs g++ and libdlib-dev)"
fi
dotnet run -c Release --project "$root/bench/Vivify.Bench" -- figures "${extra[@]}"
if [[ ${1:-} == --full ]]; then
  cd "$root/bench" && dotnet run -c Release --project Vivify.Bench -- --filter '*'
fi
