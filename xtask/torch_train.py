"""PyTorch twin of genolens' genotype transformer, for `cargo xtask bench
--transformer-only`: same layers, widths, sequence length, batch, optimiser
(AdamW) and loss (squared error), on random genotypes of the same shape.
Prints `samples_per_s <rate>` for the training steps and
`inference_samples_per_s <rate>` for predictions (best of --repeat).
"""
import argparse
import math
import time

import torch
from torch import nn


class Layer(nn.Module):
    def __init__(self, d, heads, d_ff, p):
        super().__init__()
        self.heads = heads
        self.attn_norm = nn.LayerNorm(d)
        self.query, self.key, self.value, self.output = (nn.Linear(d, d) for _ in range(4))
        self.ff_norm = nn.LayerNorm(d)
        self.up, self.down = nn.Linear(d, d_ff), nn.Linear(d_ff, d)
        self.drop = nn.Dropout(p)

    def forward(self, x):
        b, l, d = x.shape
        dh = d // self.heads
        split = lambda t: t.view(b, l, self.heads, dh).transpose(1, 2)
        h = self.attn_norm(x)
        q, k, v = split(self.query(h)), split(self.key(h)), split(self.value(h))
        w = torch.softmax(q @ k.transpose(2, 3) / math.sqrt(dh), dim=3)
        ctx = (w @ v).transpose(1, 2).reshape(b, l, d)
        x = x + self.drop(self.output(ctx))
        h = self.drop(nn.functional.gelu(self.up(self.ff_norm(x))))
        return x + self.drop(self.down(h))


class GenotypeTransformer(nn.Module):
    def __init__(self, n_variants, d, heads, layers, d_ff, p):
        super().__init__()
        self.genotype = nn.Embedding(5, d)
        self.variant = nn.Embedding(n_variants, d)
        self.dosage = nn.Parameter(torch.randn(n_variants, d))
        self.layers = nn.ModuleList(Layer(d, heads, d_ff, p) for _ in range(layers))
        self.norm = nn.LayerNorm(d)
        self.hidden, self.head = nn.Linear(d, d), nn.Linear(d, 1)
        self.drop = nn.Dropout(p)

    def forward(self, classes, dosages):
        x = self.genotype(classes) + self.variant.weight[None] + dosages[..., None] * self.dosage[None]
        for layer in self.layers:
            x = layer(x)
        z = self.drop(self.norm(x).mean(dim=1))
        return self.head(z + nn.functional.gelu(self.hidden(z)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=1024)
    ap.add_argument("--variants", type=int, default=256)
    ap.add_argument("--d-model", type=int, default=32)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    classes = torch.randint(0, 3, (a.samples, a.variants))
    dosages = (classes.float() - 1.0) / 0.7
    y = torch.randn(a.samples, 1)
    model = GenotypeTransformer(a.variants, a.d_model, a.heads, a.layers, 2 * a.d_model, 0.1)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
    model.train()
    best = 0.0
    for _ in range(a.repeat):
        start = time.perf_counter()
        for _ in range(a.epochs):
            order = torch.randperm(a.samples)
            for i in range(0, a.samples, a.batch):
                rows = order[i:i + a.batch]
                loss = ((model(classes[rows], dosages[rows]) - y[rows]) ** 2).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
        rate = a.samples * a.epochs / (time.perf_counter() - start)
        best = max(best, rate)
    # Inference: the trained model, no gradients, batches of 256.
    model.eval()
    inference = 0.0
    with torch.no_grad():
        for _ in range(a.repeat):
            start = time.perf_counter()
            for i in range(0, a.samples, 256):
                model(classes[i:i + 256], dosages[i:i + 256])
            inference = max(inference, a.samples / (time.perf_counter() - start))
    print(f"torch {torch.__version__} threads {a.threads}")
    print(f"samples_per_s {best:.2f}")
    print(f"inference_samples_per_s {inference:.2f}")


if __name__ == "__main__":
    main()
