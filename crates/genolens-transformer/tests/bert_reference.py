#!/usr/bin/env python3
"""An independent BERT forward pass in numpy (float64) for the parity test of
genolens-transformer's burn BERT encoder.

Usage: bert_reference.py MODEL_DIR IDS_CSV OUT_NPY
Reads config.json and model.safetensors (parsed by hand: 8-byte header
length, JSON header, raw little-endian data), runs the post-norm encoder with
exact GELU on one sequence of word-piece ids, and writes the last hidden
states [len, hidden] as float64 .npy.
"""
import json
import math
import struct
import sys

import numpy as np


def load_safetensors(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":  # e.g. the I64 embeddings.position_ids buffer
            continue
        start, end = info["data_offsets"]
        out[name] = np.frombuffer(data[start:end], dtype="<f4").reshape(info["shape"]).astype(np.float64)
    return out


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def gelu(x):
    erf = np.vectorize(math.erf)
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def main():
    model_dir, ids_csv, out = sys.argv[1:4]
    cfg = json.load(open(f"{model_dir}/config.json"))
    t = load_safetensors(f"{model_dir}/model.safetensors")
    p = "bert." if any(k.startswith("bert.") for k in t) else ""
    ids = [int(x) for x in open(ids_csv).read().split(",")]
    eps = cfg.get("layer_norm_eps", 1e-12)
    heads = cfg["num_attention_heads"]
    n = len(ids)
    x = (t[p + "embeddings.word_embeddings.weight"][ids]
         + t[p + "embeddings.position_embeddings.weight"][:n]
         + t[p + "embeddings.token_type_embeddings.weight"][0])
    x = layer_norm(x, t[p + "embeddings.LayerNorm.weight"], t[p + "embeddings.LayerNorm.bias"], eps)
    d = x.shape[1]
    dh = d // heads

    def lin(name, v):
        return v @ t[name + ".weight"].T + t[name + ".bias"]

    for i in range(cfg["num_hidden_layers"]):
        q = f"{p}encoder.layer.{i}."
        Q = lin(q + "attention.self.query", x).reshape(n, heads, dh).transpose(1, 0, 2)
        K = lin(q + "attention.self.key", x).reshape(n, heads, dh).transpose(1, 0, 2)
        V = lin(q + "attention.self.value", x).reshape(n, heads, dh).transpose(1, 0, 2)
        s = Q @ K.transpose(0, 2, 1) / math.sqrt(dh)
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        ctx = (s @ V).transpose(1, 0, 2).reshape(n, d)
        h = layer_norm(x + lin(q + "attention.output.dense", ctx),
                       t[q + "attention.output.LayerNorm.weight"], t[q + "attention.output.LayerNorm.bias"], eps)
        f = lin(q + "output.dense", gelu(lin(q + "intermediate.dense", h)))
        x = layer_norm(h + f, t[q + "output.LayerNorm.weight"], t[q + "output.LayerNorm.bias"], eps)
    np.save(out, x)


if __name__ == "__main__":
    main()
