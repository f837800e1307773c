"""Loss-curve parity of genolens' genotype transformer with PyTorch, for
`cargo xtask bench --transformer-only`.

`transformer-parity DIR` (benches/src/bin) writes a freshly initialised
genolens model's weights in module order, the batches' genotype classes,
standardised dosages and targets, and the loss of every training step it
took. This script loads the same weights into the PyTorch twin of
`torch_train.py` (dropout 0), takes the same steps with AdamW at burn's
settings (betas 0.9/0.999, eps 1e-5, decoupled weight decay), and prints
every step's two losses and the largest relative difference.
"""
import json
import math
import sys

import numpy as np
import torch
from torch import nn

from torch_train import GenotypeTransformer


def main():
    out = sys.argv[1]
    meta = json.load(open(f"{out}/meta.json"))
    torch.set_num_threads(1)
    n, l = meta["samples"], meta["variants"]
    classes = torch.from_numpy(np.fromfile(f"{out}/classes.bin", dtype=np.uint8).reshape(n, l).astype(np.int64))
    dosages = torch.from_numpy(np.fromfile(f"{out}/dosages.bin", dtype=np.float32).reshape(n, l))
    targets = torch.from_numpy(np.fromfile(f"{out}/targets.bin", dtype=np.float32).reshape(n, 1))
    flat = np.fromfile(f"{out}/params.bin", dtype=np.float32)
    shapes = meta["shapes"]
    tensors, at = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        tensors.append(torch.from_numpy(flat[at:at + size].reshape(shape).copy()))
        at += size
    assert at == flat.size, "parameter sizes"
    model = GenotypeTransformer(l, meta["d_model"], meta["heads"], meta["layers"], meta["d_ff"], 0.0)
    it = iter(tensors)
    with torch.no_grad():
        # genolens' module order: genotype, variant, dosage table, then per
        # layer attn_norm (gamma, beta), query, key, value, output (weight
        # [in, out], bias), ff_norm, up, down; the final norm; the masked-
        # genotype head (unused here); hidden; head.
        model.genotype.weight.copy_(next(it))
        model.variant.weight.copy_(next(it))
        model.dosage.copy_(next(it))

        def linear(m):
            m.weight.copy_(next(it).T)
            m.bias.copy_(next(it))

        def norm(m):
            m.weight.copy_(next(it))
            m.bias.copy_(next(it))

        for layer in model.layers:
            norm(layer.attn_norm)
            for m in (layer.query, layer.key, layer.value, layer.output):
                linear(m)
            norm(layer.ff_norm)
            linear(layer.up)
            linear(layer.down)
        norm(model.norm)
        next(it), next(it)  # masked-genotype head
        linear(model.hidden)
        linear(model.head)
        assert next(it, None) is None, "unused genolens parameters"
    opt = torch.optim.AdamW(model.parameters(), lr=meta["lr"], betas=(0.9, 0.999), eps=1e-5,
                            weight_decay=meta["weight_decay"])
    model.train()
    ours = [float(v) for v in open(f"{out}/losses.txt").read().split()]
    b = meta["batch"]
    worst = 0.0
    print("step\tgenolens\tpytorch\trelative_difference")
    for step, loss_g in enumerate(ours):
        rows = slice(step * b % n, step * b % n + b)
        loss = ((model(classes[rows], dosages[rows]) - targets[rows]) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        rel = abs(loss.item() - loss_g) / max(abs(loss_g), 1e-12)
        worst = max(worst, rel)
        print(f"{step + 1}\t{loss_g:.7g}\t{loss.item():.7g}\t{rel:.2e}")
    print(f"max_relative_difference {worst:.3e}")


if __name__ == "__main__":
    main()
