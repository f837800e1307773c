#!/usr/bin/env python3
"""Reference sentence embeddings (sentence-transformers) for genolens' rust-bert side.

Usage:
  st_embed.py --model DIR --sentences FILE --out FILE.npy [--threads N] [--repeat R]

FILE has one sentence per line (empty lines are skipped; a trailing "\\r" is
dropped). The model is loaded from DIR only (offline, CPU). All sentences are
encoded once as warm-up, then R more times, timed; the embeddings are written
as a float32 (n, dim) .npy and one JSON line is printed to stdout:
  {"sentences": n, "seconds": best, "sentences_per_s": n / best, ...}

Encoding: batch_size 32, normalize_embeddings=False, convert_to_numpy=True,
with the model's own pooling (mean pooling for all-MiniLM-L6-v2).
Python for this: the venv made by `xtask/install_text_env.sh --python-ref`
(printed as GENOLENS_ST_PYTHON).
"""
import argparse
import json
import os
import sys
import time

# No hub access from here: never try the network, load DIR only.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# Tokenize on the calling thread, so --threads bounds the work (as on the Rust side).
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

BATCH_SIZE = 32


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="sentence-transformers model directory")
    ap.add_argument("--sentences", required=True, help="text file, one sentence per line")
    ap.add_argument("--out", required=True, help="output .npy (float32, n x dim)")
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    ap.add_argument("--repeat", type=int, default=3, help="timed repetitions after warm-up")
    args = ap.parse_args()
    if args.threads < 1 or args.repeat < 1:
        ap.error("--threads and --repeat must be >= 1")
    if not os.path.isdir(args.model):
        ap.error(f"--model {args.model!r} is not a directory")

    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(args.threads)

    with open(args.sentences, encoding="utf-8") as f:
        sentences = [line.rstrip("\n").rstrip("\r") for line in f]
    sentences = [s for s in sentences if s]
    if not sentences:
        print(f"no sentences in {args.sentences}", file=sys.stderr)
        return 1

    model = SentenceTransformer(args.model, device="cpu")
    model.eval()

    def encode():
        return model.encode(
            sentences,
            batch_size=BATCH_SIZE,
            normalize_embeddings=False,
            convert_to_numpy=True,
            show_progress_bar=False,
        )

    with torch.inference_mode():
        emb = encode()  # warm-up
        best = float("inf")
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            emb = encode()
            best = min(best, time.perf_counter() - t0)

    emb = np.ascontiguousarray(emb, dtype=np.float32)
    np.save(args.out, emb)
    print(
        json.dumps(
            {
                "sentences": len(sentences),
                "seconds": best,
                "sentences_per_s": len(sentences) / best,
                "dim": int(emb.shape[1]),
                "threads": args.threads,
                "repeat": args.repeat,
                "batch_size": BATCH_SIZE,
                "torch": torch.__version__,
            }
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
