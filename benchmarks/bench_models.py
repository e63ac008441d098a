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


def linear_structure(vae, judge, cache: Path, n: int = 400, probes: bool = True) -> dict:
    """Share of held-out faces without the attribute whose decoded face the judge calls positive
    after adding the attribute's mean-difference vector (learned on the train split).

    With `probes`, an independent reader too: the evaluation's linear probe on the attribute's
    region (`facedit.eval.probe`: HOG, colour layout and statistics, trained on the prepared set's
    real train crops), which neither the decoder's training nor the directions ever saw - the
    judge is also what the decoder's arithmetic term trains against. Its flips are counted the
    same way, among the faces it calls negative on their decoding."""
    from facedit.attributes import resolve
    from facedit.data.dataset import PreparedSet
    from facedit.data.sources import CELEBA_ATTRIBUTES, CELEBA_CROPS
    from facedit.directions import mean_difference
    from facedit.eval.probe import train_probe
    from facedit.faces import Face
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
        decoded = {0.0: vae.decode(z)}
        for k in (1.0, 2.0):
            decoded[k] = vae.decode(z + k * d[None].astype(np.float32))
        out[label] = {"faces": int(len(neg)), **_flips(judge.value(decoded[0.0], label),
                                                       {k: judge.value(decoded[k], label)
                                                        for k in (1.0, 2.0)})}
        if probes:
            region = resolve(label).regions[0]
            probe = train_probe(cache, label, region)
            faces = [Face.from_points(m) for m in test.mesh[neg]]
            read = {k: probe(np.clip(np.rint(v), 0, 255).astype(np.uint8), faces)
                    for k, v in decoded.items()}
            out[label]["probe"] = {"region": region,
                                   "val_balanced_accuracy": round(probe.val_balanced_accuracy, 4),
                                   **_flips(read[0.0], {k: read[k] for k in (1.0, 2.0)})}
    return out


def _flips(before: np.ndarray, after: dict[float, np.ndarray]) -> dict:
    """{"x1": {"flipped", "positive_after"}, ...}: the share of faces read negative before (P <
    0.5) that read positive after each step, and the share positive after. NaN readings (an
    empty region) count as negative."""
    neg = ~(np.asarray(before) > 0.5)
    rows = {}
    for k, p in after.items():
        pos = np.asarray(p) > 0.5
        rows[f"x{k:g}"] = {"flipped": float((pos & neg).sum() / max(1, neg.sum())),
                           "positive_after": float(pos.mean())}
    return rows


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
