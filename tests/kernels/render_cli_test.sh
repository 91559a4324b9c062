#!/bin/sh
# renderq-render end to end: renders an example to a PNG, refuses an invalid
# scene and bad usage with exit code 2. Needs RENDERQ_BIN and RENDERQ_SOURCE_DIR.
set -eu
bin="$RENDERQ_BIN/renderq-render"
[ -x "$bin" ] || { echo "skip: $bin not built"; exit 77; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

"$bin" "$RENDERQ_SOURCE_DIR/examples/cornell_box.json" "$dir/out.png" --samples 2 --threads 2 > "$dir/log"
grep -q "samples/s" "$dir/log"
# A PNG starts with \211PNG.
[ "$(head -c 4 "$dir/out.png" | tail -c 3)" = "PNG" ] || { echo "not a PNG"; exit 1; }
[ ! -e "$dir/out.png.tmp" ] || { echo "temp file left behind"; exit 1; }

printf '{"width": 4, "height": 4, "samples": 1, "colour": 1}' > "$dir/bad.json"
rc=0; "$bin" "$dir/bad.json" "$dir/bad.png" 2> "$dir/err" || rc=$?
[ "$rc" -eq 2 ] || { echo "invalid scene: exit $rc, want 2"; exit 1; }
[ ! -e "$dir/bad.png" ] || { echo "PNG written for an invalid scene"; exit 1; }

rc=0; "$bin" only-one-argument 2> /dev/null || rc=$?
[ "$rc" -eq 2 ] || { echo "bad usage: exit $rc, want 2"; exit 1; }
rc=0; "$bin" a.json b.png --backend opengl 2> /dev/null || rc=$?
[ "$rc" -eq 2 ] || { echo "unknown backend: exit $rc, want 2"; exit 1; }
echo ok
