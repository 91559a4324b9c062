#!/bin/sh
# bench/gpu/run on a machine without a GPU, reusing the build under test:
# it must build, then stop cleanly with "no CUDA device" and exit code 2, and
# still write its report. Skipped (77) where a GPU is present: there, run
# bench/gpu/run itself. Needs RENDERQ_SOURCE_DIR and RENDERQ_BINARY_DIR.
set -eu
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  echo "skip: a GPU is present; run bench/gpu/run"
  exit 77
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
rc=0
"$RENDERQ_SOURCE_DIR/bench/gpu/run" --reuse-build --build-dir "$RENDERQ_BINARY_DIR" \
  --report "$dir/report.md" >"$dir/out" 2>&1 || rc=$?
cat "$dir/out"
[ "$rc" -eq 2 ] || { echo "exit $rc, want 2"; exit 1; }
grep -q "no CUDA device" "$dir/out" || { echo "no 'no CUDA device' message"; exit 1; }
grep -q "Result: no CUDA device" "$dir/report.md" || { echo "report missing or wrong"; exit 1; }
rc=0
"$RENDERQ_SOURCE_DIR/bench/gpu/run" --frobnicate >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 64 ] || { echo "bad usage: exit $rc, want 64"; exit 1; }
echo ok
