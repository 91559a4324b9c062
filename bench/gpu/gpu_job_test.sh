#!/bin/sh
# renderq-gpu-job end to end with the real renderq-worker of this build: one
# job through a SQLite queue in a temporary directory. Without a GPU the
# worker's --device 0 falls back to the CPU, so the job must succeed on "cpu"
# and --expect cuda must fail; with a GPU it must run on "cuda:0 ...". Bad
# usage exits 64. Needs RENDERQ_BIN and RENDERQ_SOURCE_DIR.
set -eu
bin="$RENDERQ_BIN"
for p in renderq-gpu-job renderq-worker; do
  [ -x "$bin/$p" ] || { echo "skip: $bin/$p not built"; exit 77; }
done
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# The Cornell box, small enough for a sanitizer build's CPU backend.
sed -e 's/"width": 320, "height": 320/"width": 48, "height": 32/' -e 's/"samples": 64/"samples": 4/' \
  "$RENDERQ_SOURCE_DIR/examples/cornell_box.json" >"$dir/small.json"
grep -q '"width": 48' "$dir/small.json" || fail "could not shrink the example scene"

backend=cpu
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then backend=cuda; fi
rc=0
"$bin/renderq-gpu-job" --worker "$bin/renderq-worker" --scene "$dir/small.json" --device 0 \
  --expect "$backend" --timeout 120 --png "$dir/job.png" --dir "$dir/queue" >"$dir/out" 2>&1 || rc=$?
cat "$dir/out"
[ "$rc" -eq 0 ] || fail "exit $rc, want 0"
grep -q "\*\*succeeded\*\*" "$dir/out" || fail "the job did not succeed"
[ "$(head -c 4 "$dir/job.png" | tail -c 3)" = "PNG" ] || fail "--png is not a PNG"
[ -f "$dir/queue/queue.db" ] || fail "no SQLite queue in --dir"
if [ "$backend" = cpu ]; then
  grep -q 'on `cpu`' "$dir/out" || fail "the job's device is not cpu"
  grep -q "cpu_fallback" "$dir/out" || fail "the worker's fallback line is not shown"
  # Asked for a GPU that is not there: the job still succeeds, on the CPU, and
  # the check says so with exit 1.
  rc=0
  "$bin/renderq-gpu-job" --worker "$bin/renderq-worker" --scene "$dir/small.json" --device 0 \
    --expect cuda --timeout 120 >"$dir/out2" 2>&1 || rc=$?
  cat "$dir/out2"
  [ "$rc" -eq 1 ] || fail "--expect cuda without a GPU: exit $rc, want 1"
  grep -q "not on a CUDA device" "$dir/out2" || fail "no reason given for the wrong device"
fi

rc=0
"$bin/renderq-gpu-job" --worker "$bin/renderq-worker" >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 64 ] || fail "no --scene: exit $rc, want 64"
rc=0
"$bin/renderq-gpu-job" --worker /nonexistent/renderq-worker --scene "$dir/small.json" \
  --timeout 30 >"$dir/out3" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "a worker that cannot start: exit $rc, want 1"
grep -q "the worker exited" "$dir/out3" || { cat "$dir/out3"; fail "no word of the worker's exit"; }
echo ok
