"""How often the judge's other decisions flip between real photos of one person (issue 4's
preservation goal: no other attribute flips on more than 10% of edits, mean <= 3%).

An edit that adds a smile should change nothing else - but the judge reads the other attributes
from the same pixels, and CelebA's labels tie some of them to a smile (82% of smiling faces are
labelled High_Cheekbones, 14% of the others). This measures the judge on real photos of the same
held-out person (CelebA test split, people no model was trained on):

* pairs that differ in the target (one photo labelled without it, one with it): the flip rate of
  every other attribute's decision - what a real change of the target comes with;
* control pairs that do not (both labelled without it): the flips that pose, light and time alone
  cause - the judge's floor across photos.

Their difference per attribute is the part the target itself carries. Flip rates are
`facedit.eval.metrics.flip_rates`, the eval harness's measure.

    .venv/bin/python benchmarks/same_person_flips.py [--cache DIR] [--targets Smiling,Eyeglasses]
        [--judge CLASSIFIER_FOLDER] [--out FILE]
"""
from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch


def person_pairs(people: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (without, with) across the target and (without, without) controls, each
    within one person; labels +1 / -1 / 0 (unknown: left out)."""
    members = defaultdict(list)
    for i, p in enumerate(people):
        members[p].append(i)
    across, control = [], []
    for idx in members.values():
        neg = [i for i in idx if labels[i] < 0]
        pos = [i for i in idx if labels[i] > 0]
        across += [(a, b) for a in neg for b in pos]
        control += [(a, b) for k, a in enumerate(neg) for b in neg[k + 1:]]
    return np.array(across, int).reshape(-1, 2), np.array(control, int).reshape(-1, 2)


def flip_table(probs: np.ndarray, pairs: np.ndarray, others: list[int]) -> np.ndarray:
    from facedit.eval.metrics import flip_rates

    return flip_rates(probs[pairs[:, 0]][:, others], probs[pairs[:, 1]][:, others])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cache", type=Path, default=None,
                        help="prepared set [default: $FACEDIT_CACHE/prepared-128]")
    parser.add_argument("--data", type=Path, default=Path("../shared/data"),
                        help="the shared data folder (for CelebA's identity file)")
    parser.add_argument("--targets", default="Smiling,Eyeglasses")
    parser.add_argument("--judge", type=Path, default=None,
                        help="a classifier folder [default: the shipped classifier]")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results_same_person.json"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from facedit.data.dataset import PreparedSet
    from facedit.data.sources import CELEBA_ATTRIBUTES, CELEBA_CROPS, celeba_identities
    from facedit.judge import Judge
    from facedit.paths import cache_dir

    cache = args.cache or cache_dir() / "prepared-128"
    test = PreparedSet.load(cache, "test").from_sources(CELEBA_CROPS)
    identity = celeba_identities(args.data / "celeba" / "identity_CelebA.txt")
    people = np.array([identity[n] for n in test.name])
    judge = Judge(path=args.judge)
    probs = np.concatenate([judge.score(np.asarray(test.images[i:i + 256]))[0]
                            for i in range(0, len(test), 256)])
    results = {"command": "python benchmarks/same_person_flips.py --targets " + args.targets,
               "judge": str(args.judge or "the shipped classifier"),
               "faces": len(test), "people": len(set(people)), "targets": {}}
    for target in args.targets.split(","):
        j = CELEBA_ATTRIBUTES.index(target)
        others = [i for i in range(len(CELEBA_ATTRIBUTES)) if i != j]
        across, control = person_pairs(people, test.attrs[:, j])
        flips_across = flip_table(probs, across, others)
        flips_control = flip_table(probs, control, others)
        excess = flips_across - flips_control
        names = [CELEBA_ATTRIBUTES[i] for i in others]
        top = np.argsort(-excess)[:5]
        results["targets"][target] = {
            "pairs_across": len(across), "pairs_control": len(control),
            "flip_rate_mean_across": float(np.nanmean(flips_across)),
            "flip_rate_mean_control": float(np.nanmean(flips_control)),
            "flip_rate_max_across": float(np.nanmax(flips_across)),
            "excess_top5": {names[i]: {"across": float(flips_across[i]),
                                       "control": float(flips_control[i])} for i in top},
            "per_attribute": {n: {"across": float(a), "control": float(c)}
                              for n, a, c in zip(names, flips_across, flips_control)}}
    args.out.write_text(json.dumps(results, indent=1))
    print(json.dumps({t: {k: v for k, v in r.items() if k != "per_attribute"}
                      for t, r in results["targets"].items()}, indent=1))


if __name__ == "__main__":
    main()
