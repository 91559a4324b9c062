#!/usr/bin/env bash
# The GPU kit rehearsed on this machine, as a lent GPU machine will run it:
# bench/gpu/kit builds it (a second, static build with nvcc), every binary must
# need nothing but glibc's libraries and carry no RPATH or RUNPATH, then the kit
# is copied to a temporary directory outside the checkout and its run-on-gpu
# runs there with an empty environment. Where this process may make a mount
# namespace (root), the checkout, the build tree and /usr/local/cuda are hidden
# from that run, so that nothing of them can be what makes it work. Without a
# GPU it must do its CPU steps (the kernels suites, a real job through the
# worker, which falls back to the CPU), then say "no CUDA device" and exit 2;
# with a GPU it must pass (exit 0). Skipped (77) without nvcc. Needs RENDERQ_SOURCE_DIR and
# RENDERQ_BINARY_DIR.
set -euo pipefail

src=$RENDERQ_SOURCE_DIR
build=$RENDERQ_BINARY_DIR
if ! command -v nvcc >/dev/null 2>&1 && [[ ! -x /usr/local/cuda/bin/nvcc ]]; then
  echo "skip: nvcc not found (the kit is built with the CUDA toolkit)"
  exit 77
fi
tmp=$(mktemp -d /tmp/renderq-kit-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
case "$tmp/" in "$src"/* | "$build"/*) echo "the temporary directory $tmp is inside the checkout"; exit 1 ;; esac
fail() { echo "FAIL: $*"; exit 1; }

# ---- build (incremental in the build tree; ccache across trees)
kit="$build/gpu-kit"
"$src/bench/gpu/kit" --build-dir "$build/gpu-kit-build" "$kit" 2>&1 | tee "$tmp/kit.log"
grep -Eq "^bench/gpu/kit: .*: [0-9]+ bytes \([0-9.]+ MiB\) in [0-9]+ files$" "$tmp/kit.log" ||
  fail "bench/gpu/kit did not print the kit's size"
for f in run-on-gpu MANIFEST bin/renderq_kernels_tests bin/renderq-render bin/renderq-bench-gpu \
  bin/renderq-worker bin/renderq-gpu-job \
  data/examples/cornell_box.json data/tests/kernels/golden/cornell_box.png \
  data/tests/kernels/reference/cornell_box.json data/tests/kernels/scenes/two_lights.json; do
  [[ -e "$kit/$f" ]] || fail "the kit has no $f"
done
(($(du -sb "$kit" | cut -f1) <= 64 * 1024 * 1024)) || fail "the kit is over 64 MiB"

# ---- only glibc, no RPATH, nothing unresolved
glibc='^(libc\.so\.6|libm\.so\.6|libpthread\.so\.0|libdl\.so\.2|librt\.so\.1|ld-linux[-a-z0-9_]*\.so\.[0-9]+)$'
for f in "$kit"/bin/*; do
  name=$(basename "$f")
  needed=$(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
  [[ -n "$needed" ]] || fail "$name: readelf shows no NEEDED entry (not a dynamic ELF?)"
  for lib in $needed; do
    [[ "$lib" =~ $glibc ]] || fail "$name needs $lib"
  done
  ! readelf -d "$f" | grep -Eq '\((RPATH|RUNPATH)\)' || fail "$name has an RPATH or RUNPATH"
  # Every library ldd resolves is glibc's (linux-vdso is the kernel's).
  while read -r lib _; do
    [[ "$lib" == linux-vdso.so.1 || "$(basename "$lib")" =~ $glibc ]] || fail "$name: ldd loads $lib"
  done < <(ldd "$f")
  ! ldd "$f" | grep -q "not found" || fail "$name: ldd: a library is not found"
done
echo "binaries: glibc only, no RPATH/RUNPATH"

# ---- copy it out of the checkout, run it with nothing around it
cp -r "$kit" "$tmp/gpu-kit"
run() {  # run CMD...: with an empty environment, the checkout hidden where possible
  if [[ $EUID -eq 0 ]] && unshare --mount true 2>/dev/null; then
    local hide=("$src")
    [[ "$build/" == "$src"/* ]] || hide+=("$build")
    [[ -d /usr/local/cuda ]] && hide+=(/usr/local/cuda)
    echo "(hidden from the run: ${hide[*]})"
    unshare --mount --propagation private -- bash -c '
      for d in "${@:2:$1}"; do mount -t tmpfs -o size=1m none "$d" || exit 99; done
      shift $(($1 + 1))
      exec env -i PATH=/usr/bin:/bin OUT="$KIT_OUT" "$@"' hide ${#hide[@]} "${hide[@]}" "$@"
  else
    echo "(no mount namespace here: the checkout stays visible to the run)"
    env -i PATH=/usr/bin:/bin OUT="$KIT_OUT" "$@"
  fi
}
export KIT_OUT="$tmp/out"
mkdir -p "$KIT_OUT"
want=2
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  want=0
fi
rc=0
# Step time limits stretched: a loaded machine must not fail the rehearsal.
(cd "$tmp" && run "$tmp/gpu-kit/run-on-gpu" --time-scale 10) >"$tmp/run.out" 2>&1 || rc=$?
cat "$tmp/run.out"
[[ $rc -eq $want ]] || fail "run-on-gpu exited $rc, want $want"
report="$KIT_OUT/gpu-report.md"
[[ -f "$report" ]] || fail "no report in \$OUT"
grep -q "kernels suites on the CPU (.*): [1-9][0-9]* run, 0 failed" "$report" ||
  fail "the CPU suites did not all run and pass"
[[ -s "$KIT_OUT/png/cornell_box-64x48-renderq-render.cpu.png" ]] || fail "no CPU render in \$OUT/png"
backend=$( ((want == 2)) && echo cpu || echo cuda)
grep -q '^- job .*: \*\*succeeded\*\* on `'"$backend" "$report" ||
  fail "the real job through renderq-worker did not succeed on the $backend"
[[ -s "$KIT_OUT/png/job-cornell_box.$backend.png" ]] || fail "no PNG of the real job in \$OUT/png"
if ((want == 2)); then
  grep -q "no CUDA device" "$tmp/run.out" || fail "no 'no CUDA device' message"
  grep -q "Result: no CUDA device" "$report" || fail "the report's verdict is not 'no CUDA device'"
else
  grep -q "Result: passed" "$report" || fail "the report's verdict is not 'passed'"
fi

rc=0
"$tmp/gpu-kit/run-on-gpu" --frobnicate >/dev/null 2>&1 || rc=$?
[[ $rc -eq 64 ]] || fail "run-on-gpu with a bad option exited $rc, want 64"
rc=0
"$src/bench/gpu/run" --frobnicate >/dev/null 2>&1 || rc=$?
[[ $rc -eq 64 ]] || fail "bench/gpu/run with a bad option exited $rc, want 64"
echo ok
