#!/usr/bin/env bash
# Every measurement the issues ask of a hardware GPU, in one call of the device tool (about 8 min
# on an H100; each step has its own timeout, so one that hangs costs only itself).
#
# Here first:  npm ci && node scripts/build-gpu.mjs        (fills .gpu/, which travels with the tree)
# There, from the project root:  bash scripts/device-check.sh [STEP ...]   (device tool: carry [".gpu"])
# STEPs: info tune bench gpt3 (default all four; each ≤ 4 min, so two calls can split them).
# Writes to $OUT (or /tmp/device-check): info.json, matmul-tune.{txt,json}, attention-tune.{txt,json}, tune/ (the autotuner's
# matmul config and attention-core choice), bench.{txt,json}, gpt3.{json,err}. Copy the figures into
# bench/RESULTS.md with the date, the adapter and these commands.
set -uo pipefail
cd "$(dirname "$0")/.."
source .gpu/env.sh
out=${OUT:-/tmp/device-check}
mkdir -p "$out"
export WEBGPU_ATTENTION_TUNE_DIR="$out/tune"
step() { echo "== $1 ($(date -u +%H:%M:%S))"; }
steps=" ${*:-info tune bench gpt3} "
want() { [[ "$steps" == *" $1 "* ]]; }

want info && step info && node .gpu/cli.mjs info --json > "$out/info.json" 2>&1

if want tune; then
  step "matmul tile configs on the attention shapes"
  timeout 150 node .gpu/matmul-tune.mjs --shapes 8192,proj,qk,pv --budget-s 120 --out "$out/matmul-tune.json" > "$out/matmul-tune.txt" 2>&1
  tail -6 "$out/matmul-tune.txt"
  step "fused attention tile configs beside the materialized core"
  timeout 90 node .gpu/attention-tune.mjs --out "$out/attention-tune.json" > "$out/attention-tune.txt" 2>&1
  cat "$out/attention-tune.txt"
fi

if want bench; then
  step "benchmark suite beside tfjs-webgpu and onnxruntime-webgpu"
  ort_env=()
  if [ -f .gpu/ort.tar.xz ]; then
    mkdir -p /tmp/ort && tar -xJf .gpu/ort.tar.xz -C /tmp/ort && ort_env=(ORT_NODE_PATH=/tmp/ort/node_modules/onnxruntime-node)
  fi
  env "${ort_env[@]}" timeout 240 node .gpu/bench.mjs --suite matmul,softmax,weighted,attention,layer --json-file "$out/bench.json" > "$out/bench.txt" 2>&1
  tail -40 "$out/bench.txt"
fi

if want gpt3; then
  step "GPT-3 preset: 96 layers, n 2048, sampled verification of 4 layers"
  timeout 200 node .gpu/cli.mjs run --preset gpt3 --verify sampled --verify-layers 4 --json > "$out/gpt3.json" 2> "$out/gpt3.err"
  echo "exit $?"; tail -3 "$out/gpt3.err"
fi
step done
