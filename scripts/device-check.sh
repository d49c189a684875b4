#!/usr/bin/env bash
# Every measurement the issues ask of a hardware GPU, through the device tool: the fp32 matmul 8192³ rate, the
# causal attention core at n 2048 × 96 heads × 128, one GPT-3 layer (the benchmark, beside tfjs-webgpu,
# onnxruntime-webgpu and jax-js-webgpu, every row verified), the 96-layer GPT-3 preset with sampled verification,
# and one GPT-3-shaped decode step (96 heads × 128 against 2,048 and 32,768 cached keys, f32 and f16).
#
# Here first:  npm ci && node scripts/build-gpu.mjs        (fills .gpu/, which travels with the tree)
# There, from the project root:  bash scripts/device-check.sh [STEP ...]   (device tool: carry [".gpu"])
# STEPs: info tune bench bench-f16 gpt3 decode (default: all six). Each has its own timeout (info 60 s, tune 150 + 90 s,
# bench 240 s, bench-f16 240 s, gpt3 200 s, decode 240 s): one that hangs costs only itself. Together they exceed the
# device tool's 10 minutes a command, so split them over three calls:  `info tune bench`, `bench-f16 gpt3`, `decode`.
#   bench      the suites matmul, softmax, weighted, attention, layer in fp32 (--precision f32), every peer;
#   bench-f16  the same suites again with f16 storage (--precision f16): its own step, so that a slow or cut-off
#              f16 run cannot lose the fp32 figures (the benchmark writes its JSON only when it finishes).
#   decode     the decode suite (one step, 96 × 128 at n_kv 2,048 and 32,768; f32 and f16), every peer.
# The real run always starts with `info`, and stops there when the adapter is a software one (no GPU driver found).
#
# Dry run, on any machine with a WebGPU adapter (lavapipe here):  bash scripts/device-check.sh --dry-run [STEP ...]
# The same steps and tools, every shape scaled down (matmul tuning on 256³ and GPT-3's products at small
# width, the attention tuning on 4 heads × n 256 × 64, the benchmark's --quick shapes of bench/scale.ts with every
# peer, the GPT-3 preset's block at 2 layers × n 16, d_model 256, 4 heads × 64, sampled verification, the decode
# step at 8 heads × 64 and n_kv 512 and 2,048) and the
# matmul and attention timing choices forced (--tune), so the tune store is written as on a GPU. It needs no .gpu/:
# scripts/device-check-bundles.mjs bundles the same entry points, as build-gpu.mjs does, into a temporary folder,
# and the caller's environment finds the adapter (VK_ICD_FILENAMES for lavapipe). About 30–50 s on lavapipe.
# (On a GPU a dry run's benchmark still runs GPT-3 shapes: bench/scale.ts scales down on software adapters only.)
#
# Writes to $OUT (default /tmp/device-check, /tmp/device-check-dry for a dry run): info.{json,err},
# matmul-tune.{txt,json}, attention-tune.{txt,json}, tune/ (the matmul config and attention-core choice the
# engine timed), bench.{txt,json}, bench-f16.{txt,json}, gpt3.{json,err}, decode.{txt,json}, and steps.tsv (each step's name,
# exit status and seconds). Exits 0 when every step ran and passed, 1 when one failed or timed out (124),
# 2 on a wrong argument. Copy the figures into bench/RESULTS.md with the date, the adapter and these commands.
set -uo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
dry=0
steps=()
for arg in "$@"; do
  case $arg in
    --dry-run) dry=1 ;;
    -h | --help) usage; exit 0 ;;
    info | tune | bench | bench-f16 | gpt3 | decode) steps+=("$arg") ;;
    *) echo "device-check: unknown argument '$arg' (steps: info tune bench bench-f16 gpt3 decode; flags: --dry-run, --help)" >&2; exit 2 ;;
  esac
done
[ ${#steps[@]} -gt 0 ] || steps=(info tune bench bench-f16 gpt3 decode)
want() { [[ " ${steps[*]} " == *" $1 "* ]]; }
# The real run always starts with info (a second of work): it checks that the adapter is a GPU.
[ $dry = 1 ] || want info || steps=(info "${steps[@]}")

if [ $dry = 1 ]; then
  out=${OUT:-/tmp/device-check-dry}
  bin=$(mktemp -d "${TMPDIR:-/tmp}/device-check-bundles.XXXXXX") || exit 1
  trap 'rm -rf "$bin"' EXIT
  echo "== dry run: bundling into $bin"
  node scripts/device-check-bundles.mjs "$bin" || { echo "device-check: bundling failed" >&2; exit 1; }
else
  out=${OUT:-/tmp/device-check}
  bin=.gpu
  # shellcheck disable=SC1091
  source .gpu/env.sh || { echo "device-check: .gpu/env.sh failed (run node scripts/build-gpu.mjs here first)" >&2; exit 1; }
fi
mkdir -p "$out" || exit 1
export WEBGPU_ATTENTION_TUNE_DIR="$out/tune"
: > "$out/steps.tsv"

# Per step: the real flags, or the scaled-down ones of the dry run (the same tools, the same code paths).
if [ $dry = 1 ]; then
  t_info=60 t_mtune=60 t_atune=60 t_bench=90 t_gpt3=60 t_decode=120
  mtune_flags=(--quick --shapes 8192,proj,qk,pv --runs 2 --warmup 1 --min-sample-ms 1 --budget-s 20)
  atune_flags=(--quick --runs 1)
  bench_flags=(--quick --runs 2 --tune --peer-timeout 30)
  # The decode suite runs no matmul: the tile timing (--tune) would only cost time.
  decode_flags=(--quick --runs 2 --no-tune --peer-timeout 30)
  gpt3_flags=(--preset gpt3 --layers 2 --seq 16 --d-model 256 --heads 4 --d-head 64 --tune --verify sampled --verify-layers 2)
else
  t_info=60 t_mtune=150 t_atune=90 t_bench=240 t_gpt3=200 t_decode=240
  mtune_flags=(--shapes 8192,proj,qk,pv --budget-s 120)
  atune_flags=()
  # --peer-timeout 90 (the GPU default is 300 s a call): a hung peer call costs 90 s, not the whole step.
  bench_flags=(--peer-timeout 90)
  decode_flags=(--peer-timeout 90)
  gpt3_flags=(--preset gpt3 --verify sampled --verify-layers 4)
fi

failed=()
step() { echo "== $1 ($(date -u +%H:%M:%S))"; }
# record NAME RC SECONDS_AT_START: one line of steps.tsv; a non-zero RC marks the run failed.
record() {
  local secs=$((SECONDS - $3))
  printf '%s\t%s\t%s\n' "$1" "$2" "$secs" >> "$out/steps.tsv"
  if [ "$2" != 0 ]; then
    failed+=("$1")
    echo "!! $1: exit $2$([ "$2" = 124 ] && echo ' (timed out)') after ${secs} s"
  else
    echo "-- $1: ok in ${secs} s"
  fi
}

if want info; then
  step info; t0=$SECONDS
  timeout $t_info node "$bin/cli.mjs" info --json > "$out/info.json" 2> "$out/info.err"
  rc=$?
  if [ $rc = 0 ]; then
    adapter=$(node -e 'const a = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).adapter; if (!a || !a.name) process.exit(3); console.log(`${a.name}${a.isSoftware ? " (software)" : ""}`)' "$out/info.json") || rc=3
    echo "adapter: ${adapter:-none in info.json}"
    if [ $rc = 0 ] && [ $dry = 0 ] && [[ "$adapter" == *" (software)" ]]; then
      echo "device-check: the adapter is a software one: no GPU driver was found, nothing here would measure a GPU" >&2
      record info 3 $t0
      echo "== done: stopped at info"
      exit 1
    fi
  else
    tail -5 "$out/info.err"
  fi
  record info $rc $t0
fi

if want tune; then
  step "matmul tile configs on the attention shapes"; t0=$SECONDS
  timeout $t_mtune node "$bin/matmul-tune.mjs" "${mtune_flags[@]}" --out "$out/matmul-tune.json" > "$out/matmul-tune.txt" 2>&1
  rc=$?
  tail -6 "$out/matmul-tune.txt"
  record matmul-tune $rc $t0
  step "fused attention tile configs beside the materialized core"; t0=$SECONDS
  timeout $t_atune node "$bin/attention-tune.mjs" "${atune_flags[@]}" --out "$out/attention-tune.json" > "$out/attention-tune.txt" 2>&1
  rc=$?
  grep -v '^Warning: ' "$out/attention-tune.txt"
  record attention-tune $rc $t0
fi

if want bench || want bench-f16 || want decode; then
  ort_env=()
  if [ $dry = 0 ] && [ -f .gpu/ort.tar.xz ]; then
    if mkdir -p /tmp/ort && tar -xJf .gpu/ort.tar.xz -C /tmp/ort; then
      ort_env=(ORT_NODE_PATH=/tmp/ort/node_modules/onnxruntime-node)
    else
      echo "device-check: unpacking .gpu/ort.tar.xz failed: onnxruntime-webgpu will be reported as not available" >&2
    fi
  fi
  for name in bench bench-f16; do
    want $name || continue
    precision=f32; [ $name = bench-f16 ] && precision=f16
    step "benchmark suite ($precision) beside tfjs-webgpu, onnxruntime-webgpu and jax-js-webgpu"; t0=$SECONDS
    env "${ort_env[@]}" timeout $t_bench node "$bin/bench.mjs" --suite matmul,softmax,weighted,attention,layer --precision $precision \
      "${bench_flags[@]}" --json-file "$out/$name.json" > "$out/$name.txt" 2>&1
    rc=$?
    grep -v '^Warning: ' "$out/$name.txt" | tail -40
    record $name $rc $t0
  done
  if want decode; then
    step "decode step (f32, f16) beside onnxruntime-webgpu (attention with past key/value), tfjs-webgpu and jax-js-webgpu"; t0=$SECONDS
    env "${ort_env[@]}" timeout $t_decode node "$bin/bench.mjs" --suite decode --precision f32,f16 \
      "${decode_flags[@]}" --json-file "$out/decode.json" > "$out/decode.txt" 2>&1
    rc=$?
    grep -v '^Warning: ' "$out/decode.txt" | tail -30
    record decode $rc $t0
  fi
fi

if want gpt3; then
  if [ $dry = 1 ]; then step "GPT-3 preset, scaled down: 2 layers, n 16, d_model 256, 4 heads × 64, sampled verification"
  else step "GPT-3 preset: 96 layers, n 2048, sampled verification of 4 layers"; fi
  t0=$SECONDS
  timeout $t_gpt3 node "$bin/cli.mjs" run "${gpt3_flags[@]}" --json > "$out/gpt3.json" 2> "$out/gpt3.err"
  rc=$?
  grep -v '^Warning: ' "$out/gpt3.err" | tail -3
  record gpt3 $rc $t0
fi

if [ ${#failed[@]} -gt 0 ]; then
  echo "== done: FAILED ${failed[*]} (see $out/steps.tsv and each step's output)"
  exit 1
fi
echo "== done: ${steps[*]} ok, in $out"
