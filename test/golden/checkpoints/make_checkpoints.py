#!/usr/bin/env python3
"""Small Hugging Face checkpoints in GPT-2's and OPT's layouts, and what they compute, for the tests.

Run from anywhere (numpy only; no torch, no safetensors package):
    python3 test/golden/checkpoints/make_checkpoints.py
    python3 test/golden/checkpoints/make_checkpoints.py --gpt2-small-shaped DIR   # 523 MiB, for timing only

Writes, beside this script, one folder per case (config.json, model.safetensors or shards with
model.safetensors.index.json, tokenizer.json) and cases.json, and NAME.expected.safetensors per
case. The forward passes are written from Hugging Face's published model definitions
(transformers/models/gpt2/modeling_gpt2.py: GPT2Block, GPT2Attention with Conv1D, GPT2MLP with
gelu_new; transformers/models/opt/modeling_opt.py: OPTDecoderLayer with do_layer_norm_before,
OPTLearnedPositionalEmbedding's offset of 2, q scaled by head_dim**-0.5 after its bias), in float64,
from the very values the files hold (F16 files: the f16-rounded values). Each state (the embeddings,
each layer's output) is stored rounded to F32 and the next is computed from the rounded state (f32),
so a test can recompute any one layer from the stored state before it. Nothing here shares code
with the project.

The tokenizer is a byte-level BPE (GPT-2's bytes-to-unicode map and pre-tokenizer pattern on ASCII
text) trained here on a short corpus; its ids for each case's text are computed by the BPE below
(merge the pair of lowest rank until none applies), an oracle for @huggingface/tokenizers.
"""

import json
import os
import re

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
TEXT = "a fluffy blue creature"
CORPUS = (
    "a fluffy blue creature roamed the verdant forest. the creature was blue and fluffy, "
    "and the forest was green. Hello world! the cat sat on the mat; the blue cat roamed the world."
)
MERGES = 48
# GPT-2's pre-tokenizer pattern with \p{L} and \p{N} narrowed to ASCII (the corpus and texts are ASCII).
PRETOKEN = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+""")


def bytes_to_unicode():
    """GPT-2's map from bytes to printable characters (openai/gpt-2 encoder.py)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


BYTE_CHAR = bytes_to_unicode()


def words(text):
    return ["".join(BYTE_CHAR[b] for b in piece.encode("utf-8")) for piece in PRETOKEN.findall(text)]


def train_merges(corpus, count):
    seqs = [list(w) for w in words(corpus)]
    merges = []
    for _ in range(count):
        pairs = {}
        for s in seqs:
            for a, b in zip(s, s[1:]):
                pairs[(a, b)] = pairs.get((a, b), 0) + 1
        if not pairs:
            break
        best = max(sorted(pairs), key=lambda p: pairs[p])  # most frequent, ties by order
        merges.append(best)
        for s in seqs:
            i = 0
            while i < len(s) - 1:
                if (s[i], s[i + 1]) == best:
                    s[i : i + 2] = [s[i] + s[i + 1]]
                else:
                    i += 1
    return merges


def bpe_encode(text, vocab, merges):
    rank = {m: i for i, m in enumerate(merges)}
    ids = []
    for w in words(text):
        s = list(w)
        while len(s) > 1:
            candidates = [(rank[(a, b)], i) for i, (a, b) in enumerate(zip(s, s[1:])) if (a, b) in rank]
            if not candidates:
                break
            _, i = min(candidates)
            s[i : i + 2] = [s[i] + s[i + 1]]
        ids.extend(vocab[t] for t in s)
    return ids


def tokenizer_json(vocab, merges, specials, bos):
    """A tokenizer.json as HF's `tokenizers` writes it for a byte-level BPE (GPT-2's form)."""
    added = [
        {"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
        for t, i in specials
    ]
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    if bos is None:
        post = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True}
    else:
        # OPT prepends </s> to every text (its tokenizer's BOS).
        name, i = bos
        post = {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": name, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [
                {"SpecialToken": {"id": name, "type_id": 0}},
                {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": name, "type_id": 0}},
                {"Sequence": {"id": "B", "type_id": 1}},
            ],
            "special_tokens": {name: {"id": name, "ids": [i], "tokens": [name]}},
        }
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": byte_level,
        "post_processor": post,
        "decoder": dict(byte_level),
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": None,
            "continuing_subword_prefix": "",
            "end_of_word_suffix": "",
            "fuse_unk": False,
            "byte_fallback": False,
            "vocab": vocab,
            "merges": [f"{a} {b}" for a, b in merges],
        },
    }


def write_safetensors(path, tensors, dtype):
    """Every tensor in one dtype (write_mixed); returns the data's size in bytes."""
    return write_mixed(path, {name: (a, dtype) for name, a in tensors.items()})


def stored(a, dtype):
    """The values a file of this dtype holds, back in float64."""
    return np.asarray(a, dtype=np.float32 if dtype == "F32" else np.float16).astype(np.float64)


def f32(a):
    """The value stored as F32, back in float64: each state is stored rounded, and the next layer is computed from
    that rounded state, so every stored state is one float64 layer (or embedding, or unembedding) of the one before
    it as stored: a reader recomputing a layer from the file's state meets only this layer's rounding."""
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def layer_norm(x, g, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


def gelu_new(x):
    return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x**3)))


def attention(q, k, v, heads):
    seq, d = q.shape
    dh = d // heads
    out = np.zeros((seq, d))
    mask = np.triu(np.ones((seq, seq), dtype=bool), 1)
    for h in range(heads):
        s = slice(h * dh, (h + 1) * dh)
        scores = q[:, s] @ k[:, s].T
        scores[mask] = -np.inf
        p = np.exp(scores - scores.max(-1, keepdims=True))
        p /= p.sum(-1, keepdims=True)
        out[:, s] = p @ v[:, s]
    return out


def gpt2_forward(W, c, ids, P):
    """modeling_gpt2.py: GPT2Model + tied lm_head; Conv1D is x @ W + b with W [in, out]."""
    d, H, eps = c["n_embd"], c["n_head"], c["layer_norm_epsilon"]
    dh = d // H
    x = f32(W[P + "wte.weight"][ids] + W[P + "wpe.weight"][np.arange(len(ids))])
    states = [x]
    for l in range(c["n_layer"]):
        h = f"{P}h.{l}."
        a = layer_norm(x, W[h + "ln_1.weight"], W[h + "ln_1.bias"], eps)
        qkv = a @ W[h + "attn.c_attn.weight"] + W[h + "attn.c_attn.bias"]
        q, k, v = qkv[:, :d], qkv[:, d : 2 * d], qkv[:, 2 * d :]
        o = attention(q / np.sqrt(dh), k, v, H)
        x = x + o @ W[h + "attn.c_proj.weight"] + W[h + "attn.c_proj.bias"]
        m = layer_norm(x, W[h + "ln_2.weight"], W[h + "ln_2.bias"], eps)
        m = gelu_new(m @ W[h + "mlp.c_fc.weight"] + W[h + "mlp.c_fc.bias"])
        x = f32(x + m @ W[h + "mlp.c_proj.weight"] + W[h + "mlp.c_proj.bias"])
        states.append(x)
    f = layer_norm(x[-1], W[P + "ln_f.weight"], W[P + "ln_f.bias"], eps)
    unembed = W["lm_head.weight"] if "lm_head.weight" in W else W[P + "wte.weight"]
    return states, unembed @ f


def opt_forward(W, c, ids, P):
    """modeling_opt.py, do_layer_norm_before: positions from an all-ones mask are 0…n−1, table row p + 2."""
    d, H, eps = c["hidden_size"], c["num_attention_heads"], 1e-5
    dh = d // H
    lin = lambda x, name: x @ W[name + ".weight"].T + W[name + ".bias"]
    x = f32(W[P + "embed_tokens.weight"][ids] + W[P + "embed_positions.weight"][np.arange(len(ids)) + 2])
    states = [x]
    for l in range(c["num_hidden_layers"]):
        h = f"{P}layers.{l}."
        a = layer_norm(x, W[h + "self_attn_layer_norm.weight"], W[h + "self_attn_layer_norm.bias"], eps)
        q = lin(a, h + "self_attn.q_proj") * dh**-0.5
        o = attention(q, lin(a, h + "self_attn.k_proj"), lin(a, h + "self_attn.v_proj"), H)
        x = x + lin(o, h + "self_attn.out_proj")
        m = layer_norm(x, W[h + "final_layer_norm.weight"], W[h + "final_layer_norm.bias"], eps)
        x = f32(x + lin(np.maximum(lin(m, h + "fc1"), 0.0), h + "fc2"))
        states.append(x)
    f = layer_norm(x[-1], W[P + "final_layer_norm.weight"], W[P + "final_layer_norm.bias"], eps)
    unembed = W["lm_head.weight"] if "lm_head.weight" in W else W[P + "embed_tokens.weight"]
    return states, unembed @ f


def model_weights(rng, P, embeddings, final_ln, d, V, N, layers):
    """One decoder's parameters, drawn in the order both layouts share: token and position tables, the final LayerNorm,
    then per layer its LayerNorms and its linears (name -> (in, out, conv1d): Conv1D stores [in, out], Linear [out, in])."""
    tok, pos = embeddings
    W = {P + tok: rng.normal(0, 0.5, (V, d)), P + pos: rng.normal(0, 0.3, (N, d))}
    W[P + final_ln + ".weight"] = 1 + rng.uniform(-0.2, 0.2, d)
    W[P + final_ln + ".bias"] = rng.uniform(-0.1, 0.1, d)
    for h, lns, linears in layers:
        for ln in lns:
            W[h + ln + ".weight"] = 1 + rng.uniform(-0.2, 0.2, d)
            W[h + ln + ".bias"] = rng.uniform(-0.1, 0.1, d)
        for name, (i, o, conv1d) in linears.items():
            W[h + name + ".weight"] = rng.normal(0, 1 / np.sqrt(i), (i, o) if conv1d else (o, i))
            W[h + name + ".bias"] = rng.normal(0, 0.1, o)
    return W


def gpt2_weights(rng, c, P, lm_head):
    d, f, V, N = c["n_embd"], c["n_inner"] or 4 * c["n_embd"], c["vocab_size"], c["n_positions"]
    linears = {"attn.c_attn": (d, 3 * d, True), "attn.c_proj": (d, d, True), "mlp.c_fc": (d, f, True), "mlp.c_proj": (f, d, True)}
    layers = [(f"{P}h.{l}.", ("ln_1", "ln_2"), linears) for l in range(c["n_layer"])]
    W = model_weights(rng, P, ("wte.weight", "wpe.weight"), "ln_f", d, V, N, layers)
    if lm_head:
        W["lm_head.weight"] = W[P + "wte.weight"].copy()  # tied, saved as a copy (as older GPT-2 files do)
    return W


def gpt2_buffers(c, P):
    """GPT-2's causal-mask buffers as older checkpoints saved them (F32 whatever the weights' dtype)."""
    n = c["n_positions"]
    B = {}
    for l in range(c["n_layer"]):
        B[f"{P}h.{l}.attn.bias"] = np.tril(np.ones((n, n)))[None, None]
        B[f"{P}h.{l}.attn.masked_bias"] = np.array(-1e4)
    return B


def opt_weights(rng, c, P, lm_head):
    d, f, V, N = c["hidden_size"], c["ffn_dim"], c["vocab_size"], c["max_position_embeddings"] + 2
    linears = {
        "self_attn.q_proj": (d, d, False), "self_attn.k_proj": (d, d, False), "self_attn.v_proj": (d, d, False),
        "self_attn.out_proj": (d, d, False), "fc1": (d, f, False), "fc2": (f, d, False),
    }
    layers = [(f"{P}layers.{l}.", ("self_attn_layer_norm", "final_layer_norm"), linears) for l in range(c["num_hidden_layers"])]
    W = model_weights(rng, P, ("embed_tokens.weight", "embed_positions.weight"), "final_layer_norm", d, V, N, layers)
    if lm_head:
        W["lm_head.weight"] = rng.normal(0, 0.5, (V, d))  # untied
    return W


def shard(names, layer_of, parts):
    """Splits names into `parts` shards by layer (globals with the first), as HF's max_shard_size does by size."""
    out = [[] for _ in range(parts)]
    layers = sorted({layer_of(n) for n in names if layer_of(n) is not None})
    for n in names:
        l = layer_of(n)
        out[0 if l is None else min(parts - 1, layers.index(l) * parts // len(layers))].append(n)
    return out


def write_case(case, W, buffers, config, tokenizer, forward, ids):
    folder = os.path.join(HERE, case["name"])
    os.makedirs(folder, exist_ok=True)
    for f in os.listdir(folder):
        os.remove(os.path.join(folder, f))
    dtype = case["dtype"]
    values = {n: stored(a, dtype) for n, a in W.items()}  # what the files hold
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(folder, "tokenizer.json"), "w") as f:
        json.dump(tokenizer, f, ensure_ascii=False)
    names = sorted(W)
    if case["shards"] == 1:
        # Buffers travel as F32 whatever the weights' dtype (one dtype per tensor).
        write_mixed(os.path.join(folder, "model.safetensors"), {n: (values[n], dtype) for n in names} | {n: (b, "F32") for n, b in buffers.items()})
    else:
        layer_of = lambda n: int(m.group(1)) if (m := re.search(r"(?:^|\.)(?:h|layers)\.(\d+)\.", n)) else None
        groups = shard(names, layer_of, case["shards"])
        weight_map = {}
        total = 0
        for k, group in enumerate(groups):
            file = f"model-{k + 1:05d}-of-{len(groups):05d}.safetensors"
            total += write_safetensors(os.path.join(folder, file), {n: values[n] for n in group}, dtype)
            for n in group:
                weight_map[n] = file
        with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}, f, indent=2)
    states, logits = forward(values, config, np.array(ids), case["prefix"])
    expected = {"embedded": states[0], "logits": logits}
    for l, s in enumerate(states[1:]):
        expected[f"layer.{l}"] = s
    write_safetensors(os.path.join(HERE, case["name"] + ".expected.safetensors"), expected, "F32")
    p = np.exp(logits - logits.max())
    p /= p.sum()
    top = np.argsort(-p, kind="stable")[:5]
    return {**case, "text": TEXT, "tokens": [int(i) for i in ids], "top": [{"id": int(i), "p": float(p[i])} for i in top]}


def write_mixed(path, tensors):
    """The safetensors format by hand: u64 header length, JSON header padded with spaces to 8 bytes, data back to back;
    `tensors` maps each name to (array, "F32" or "F16"). Returns the data's size in bytes."""
    header = {"__metadata__": {"format": "pt"}}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        a, dtype = tensors[name]
        blob = np.ascontiguousarray(a, dtype="<f4" if dtype == "F32" else "<f2").tobytes()
        header[name] = {"dtype": dtype, "shape": list(np.shape(a)), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((-len(text)) % 8)
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text)
        for b in blobs:
            f.write(b)
    return offset


def main():
    rng = np.random.default_rng(20261206)
    merges = train_merges(CORPUS, MERGES)
    byte_tokens = [BYTE_CHAR[b] for b in range(256)]
    merged = [a + b for a, b in merges]

    # GPT-2: bytes 0…255, merges, <|endoftext|> last (as GPT-2's 50256).
    gvocab = {t: i for i, t in enumerate(byte_tokens + merged)}
    eot = len(gvocab)
    gvocab["<|endoftext|>"] = eot
    gtok = tokenizer_json(gvocab, merges, [("<|endoftext|>", eot)], None)
    gids = bpe_encode(TEXT, gvocab, merges)

    # OPT: <s> <pad> </s> <unk> first (0…3), then bytes and merges; the model's vocabulary is padded past the tokenizer's (as OPT's 50272 > 50265).
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    ovocab = {t: i for i, t in enumerate(specials + byte_tokens + merged)}
    otok = tokenizer_json(ovocab, merges, [(t, i) for i, t in enumerate(specials)], ("</s>", 2))
    oids = [2] + bpe_encode(TEXT, ovocab, merges)

    cases = []
    g_small = {
        "activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"], "bos_token_id": eot, "eos_token_id": eot,
        "layer_norm_epsilon": 1e-05, "model_type": "gpt2", "n_ctx": 24, "n_embd": 40, "n_head": 4, "n_inner": None,
        "n_layer": 2, "n_positions": 24, "vocab_size": len(gvocab),
    }
    case = {"name": "gpt2-f32", "family": "gpt2", "dtype": "F32", "shards": 1, "prefix": "", "layers": 2, "dModel": 40, "heads": 4, "ffn": 160, "vocab": len(gvocab)}
    cases.append(write_case(case, gpt2_weights(rng, g_small, "", False), gpt2_buffers(g_small, ""), g_small, gtok, gpt2_forward, gids))

    g_shard = {**g_small, "n_embd": 36, "n_head": 3, "n_inner": 72, "n_layer": 3, "n_positions": 20, "n_ctx": 20, "layer_norm_epsilon": 1e-4}
    case = {"name": "gpt2-sharded-f16", "family": "gpt2", "dtype": "F16", "shards": 2, "prefix": "transformer.", "layers": 3, "dModel": 36, "heads": 3, "ffn": 72, "vocab": len(gvocab)}
    cases.append(write_case(case, gpt2_weights(rng, g_shard, "transformer.", True), {}, g_shard, gtok, gpt2_forward, gids))

    o_shard = {
        "_remove_final_layer_norm": False, "activation_dropout": 0.0, "activation_function": "relu", "architectures": ["OPTForCausalLM"],
        "bos_token_id": 2, "do_layer_norm_before": True, "eos_token_id": 2, "ffn_dim": 80, "hidden_size": 36,
        "max_position_embeddings": 20, "model_type": "opt", "num_attention_heads": 3, "num_hidden_layers": 3, "pad_token_id": 1,
        "prefix": "</s>", "torch_dtype": "float32", "vocab_size": len(ovocab) + 3, "word_embed_proj_dim": 36,
    }
    case = {"name": "opt-sharded-f32", "family": "opt", "dtype": "F32", "shards": 3, "prefix": "model.decoder.", "layers": 3, "dModel": 36, "heads": 3, "ffn": 80, "vocab": len(ovocab) + 3}
    cases.append(write_case(case, opt_weights(rng, o_shard, "model.decoder.", False), {}, o_shard, otok, opt_forward, oids))

    o_single = {**o_shard, "ffn_dim": 96, "hidden_size": 32, "num_attention_heads": 4, "num_hidden_layers": 2, "word_embed_proj_dim": 32,
                "max_position_embeddings": 16, "tie_word_embeddings": False, "torch_dtype": "float16"}
    case = {"name": "opt-untied-f16", "family": "opt", "dtype": "F16", "shards": 1, "prefix": "decoder.", "layers": 2, "dModel": 32, "heads": 4, "ffn": 96, "vocab": len(ovocab) + 3}
    cases.append(write_case(case, opt_weights(rng, o_single, "decoder.", True), {}, o_single, otok, opt_forward, oids))

    with open(os.path.join(HERE, "cases.json"), "w") as f:
        json.dump(cases, f, indent=1)
        f.write("\n")
    for c in cases:
        print(c["name"], c["tokens"], [t["id"] for t in c["top"]])


def gpt2_small_shaped(folder):
    """GPT-2 small's published config.json with random weights at GPT-2's initialisation (N(0, 0.02), LayerNorm 1 and 0):
    a 523 MiB F32 model.safetensors with the attn.bias buffers, for timing a checkpoint of that size (bench/RESULTS.md).
    No tokenizer.json: run it with --tokens (GPT-2's ids of "a fluffy blue creature": 64,39145,4171,7185)."""
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(HERE, "..", "configs", "gpt2.config.json")) as f:
        config = json.load(f)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    rng = np.random.default_rng(1)
    d, L, V, N = config["n_embd"], config["n_layer"], config["vocab_size"], config["n_positions"]
    W = {"wte.weight": rng.normal(0, 0.02, (V, d)), "wpe.weight": rng.normal(0, 0.01, (N, d)), "ln_f.weight": np.ones(d), "ln_f.bias": np.zeros(d)}
    for l in range(L):
        h = f"h.{l}."
        for ln in ("ln_1", "ln_2"):
            W[h + ln + ".weight"] = np.ones(d)
            W[h + ln + ".bias"] = np.zeros(d)
        for name, (i, o) in {"attn.c_attn": (d, 3 * d), "attn.c_proj": (d, d), "mlp.c_fc": (d, 4 * d), "mlp.c_proj": (4 * d, d)}.items():
            W[h + name + ".weight"] = rng.normal(0, 0.02, (i, o))
            W[h + name + ".bias"] = np.zeros(o)
        W[h + "attn.bias"] = np.tril(np.ones((N, N)))[None, None]
    size = write_safetensors(os.path.join(folder, "model.safetensors"), W, "F32")
    print(folder, f"{size / 2**20:.1f} MiB")


if __name__ == "__main__":
    import sys

    if len(sys.argv) == 3 and sys.argv[1] == "--gpt2-small-shaped":
        gpt2_small_shaped(sys.argv[2])
    else:
        main()
