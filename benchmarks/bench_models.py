"""Benchmarks of the shipped models (issue 3): speed, reconstruction, classifier accuracy and the
linear structure of the latent space.

    .venv/bin/python benchmarks/bench_models.py [--cache DIR] [--threads N] [--model builtin:FOLDER]

Speed needs nothing but the shipped weights; the quality parts need the prepared set (`facedit
data prepare`) and are skipped without it. Results go to benchmarks/results_models.json.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch



def median_ms(fn, runs: int = 50, warmup: int = 5) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return round(statistics.median(times), 2)


def speed(vae, judge) -> dict:
    crop = np.random.default_rng(0).integers(0, 256, (1, 128, 128, 3), dtype=np.uint8)
    return {"encode_decode_one_face_ms": median_ms(lambda: vae.decode(vae.encode(crop))),
            "classify_one_face_ms": median_ms(lambda: judge.score(crop)),
            "goals_ms": {"encode_decode": 15, "classify": 10}}


def linear_structure(vae, judge, cache: Path, n: int = 400) -> dict:
    """Share of held-out faces without the attribute whose decoded face the judge calls positive
    after adding the attribute's mean-difference vector (learned on the train split)."""
    from facedit.data.dataset import PreparedSet
    from facedit.data.sources import CELEBA_ATTRIBUTES, CELEBA_CROPS
    from facedit.directions import mean_difference
    from facedit.train.arithmetic import ARITHMETIC_ATTRIBUTES

    train = PreparedSet.load(cache, "train").from_sources(CELEBA_CROPS)
    test = PreparedSet.load(cache, "test").from_sources(CELEBA_CROPS)
    pick = np.arange(0, len(train), max(1, len(train) // 6000))
    z_train = np.concatenate([vae.encode(np.asarray(train.images[pick[i:i + 256]]))
                              for i in range(0, len(pick), 256)])
    out = {}
    for label in ARITHMETIC_ATTRIBUTES:
        j = CELEBA_ATTRIBUTES.index(label)
        d = mean_difference(z_train, train.attrs[pick, j] > 0, normalize=False)
        neg = np.flatnonzero(test.attrs[:, j] < 0)[:n]
        z = vae.encode(np.asarray(test.images[neg]))
        rows = {}
        for k in (1.0, 2.0):
            before = judge.value(vae.decode(z), label) > 0.5
            after = judge.value(vae.decode(z + k * d[None].astype(np.float32)), label) > 0.5
            rows[f"x{k:g}"] = {"flipped": float((after & ~before).sum() / max(1, (~before).sum())),
                               "positive_after": float(after.mean())}
        out[label] = {"faces": int(len(neg)), **rows}
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cache", type=Path, default=None,
                        help="prepared set [default: $FACEDIT_CACHE/prepared-128]")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results_models.json"))
    parser.add_argument("--model", default="builtin",
                        help="the generative model measured: builtin or builtin:FOLDER")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from facedit.judge import Judge
    from facedit.models import WEIGHTS, vae_folder
    from facedit.models.backend import load_backend
    from facedit.paths import cache_dir

    vae, judge = load_backend(args.model), Judge()
    results = {"command": "python benchmarks/bench_models.py", "threads": args.threads,
               "model": args.model,
               "machine": {"cpu_count": torch.get_num_threads(), "python": platform.python_version(),
                           "torch": torch.__version__}, "speed": speed(vae, judge)}
    folders = {"vae": vae_folder(args.model.partition(":")[2]),
               "classifier": WEIGHTS / "classifier"}
    for name, folder in folders.items():
        card = json.loads((folder / "model_card.json").read_text())
        results[f"{name}_card_metrics"] = card.get("metrics")
    cache = args.cache or cache_dir() / "prepared-128"
    if (cache / "summary.json").exists():
        results["linear_structure"] = linear_structure(vae, judge, cache)
    args.out.write_text(json.dumps(results, indent=1))
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
