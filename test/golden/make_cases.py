#!/usr/bin/env python3
"""What the golden attention cases compute: NAME.expected.safetensors from the committed NAME.weights and NAME.input.

Run from anywhere (numpy only):
    python3 test/golden/make_cases.py

For each case of cases.json, reads the F32 weights and inputs the files hold and computes, in float64, per layer:
q = x·Wqᵀ, k = c·Wkᵀ, v = c·Wvᵀ (c = x, or the context for cross-attention); per head h (columns h·dHead …
(h+1)·dHead) pattern = softmax(q_h·k_hᵀ / √dHead), future keys set to −∞ when mask is true; o_h = pattern·v_h;
x ← x + o·Woᵀ. Each layer's output is stored rounded to F32 and the next layer is computed from that rounded state,
so every stored state is one float64 layer of the stored state before it: a reader recomputing one layer from the
file's state meets only this layer's rounding. Writes `layer.{l}` for every layer but the last and `y` for the last.
Nothing here shares code with the project.
"""

import json
import os
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(HERE, "checkpoints"))
from make_checkpoints import f32, write_safetensors  # noqa: E402  (the one safetensors writer)


def read_safetensors(path):
    """name → float64 array of an all-F32 safetensors file."""
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8 : 8 + n])
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        assert t["dtype"] == "F32", f"{path}: {name} is {t['dtype']}"
        a, b = t["data_offsets"]
        out[name] = np.frombuffer(data[8 + n + a : 8 + n + b], dtype="<f4").astype(np.float64).reshape(t["shape"])
    return out


def layer(x, c, W, case):
    heads, dh = case["heads"], case["dHead"]
    q, k, v = x @ W["q"].T, c @ W["k"].T, c @ W["v"].T
    o = np.zeros((x.shape[0], heads * dh))
    for h in range(heads):
        s = slice(h * dh, (h + 1) * dh)
        scores = q[:, s] @ k[:, s].T / np.sqrt(dh)
        if case["mask"]:
            scores[np.triu(np.ones(scores.shape, dtype=bool), 1)] = -np.inf
        p = np.exp(scores - scores.max(-1, keepdims=True))
        p /= p.sum(-1, keepdims=True)
        o[:, s] = p @ v[:, s]
    return x + o @ W["o"].T


def main():
    with open(os.path.join(HERE, "cases.json")) as f:
        cases = json.load(f)
    for case in cases:
        name = case["name"]
        W = read_safetensors(os.path.join(HERE, f"{name}.weights.safetensors"))
        inputs = read_safetensors(os.path.join(HERE, f"{name}.input.safetensors"))
        x = inputs["x"]
        expected = {}
        for l in range(case["layers"]):
            c = inputs["context"] if case["cross"] else x
            w = {p: W[f"layers.{l}.self_attn.{p}_proj.weight"] for p in "qkvo"}
            x = f32(layer(x, c, w, case))
            expected["y" if l == case["layers"] - 1 else f"layer.{l}"] = x
        write_safetensors(os.path.join(HERE, f"{name}.expected.safetensors"), expected, "F32")
        print(name, sorted(expected))


if __name__ == "__main__":
    main()
