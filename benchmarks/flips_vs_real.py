"""The evaluation's flips next to what a real change brings: for each edit, the share of the other
attributes' decisions it flips (benchmarks/eval/report.json, facedit's method) against the share
that differ between two real photos of one held-out person with and without the attribute, and
between two without it (benchmarks/results_same_person.json). Reads only those two files.

    python benchmarks/flips_vs_real.py [--eval benchmarks/eval/report.json]
        [--same-person benchmarks/results_same_person.json] [--method facedit]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

TASKS = {"smiling_add": "Smiling", "smiling_remove": "Smiling", "eyeglasses_add": "Eyeglasses",
         "eyeglasses_remove": "Eyeglasses"}


def compare(report: dict, same_person: dict, method: str) -> dict:
    """{task: {"edit_mean", "real_mean", "control_mean", "above_real": [(attr, edit, real)]}}
    for every task of `TASKS` present in both files; above_real lists the attributes the edit
    flips more often than the real pairs differ, largest excess first."""
    out = {}
    for task, target in TASKS.items():
        edit = report["results"].get(task, {}).get(method)
        real = same_person["targets"].get(target)
        if edit is None or real is None:
            continue
        flips = edit["preservation"]["per_attribute"]
        pairs = real["per_attribute"]
        above = [(a, flips[a]["flip_rate"], pairs[a]["across"]) for a in flips
                 if a in pairs and flips[a]["flip_rate"] > pairs[a]["across"]]
        above.sort(key=lambda row: row[2] - row[1])
        out[task] = {"edit_mean": edit["preservation"]["flip_rate_mean"],
                     "real_mean": real["flip_rate_mean_across"],
                     "control_mean": real["flip_rate_mean_control"],
                     "above_real": [(a, round(e, 3), round(r, 3)) for a, e, r in above]}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval", type=Path, default=Path("benchmarks/eval/report.json"))
    parser.add_argument("--same-person", type=Path,
                        default=Path("benchmarks/results_same_person.json"))
    parser.add_argument("--method", default="facedit")
    args = parser.parse_args()
    rows = compare(json.loads(args.eval.read_text()), json.loads(args.same_person.read_text()),
                   args.method)
    print("| edit | mean flip (edit) | real change, same person | two photos without it | "
          "attributes flipped more than by the real change |")
    print("|---|---|---|---|---|")
    for task, r in rows.items():
        above = ", ".join(f"{a} {e:.3f} vs {real:.3f}" for a, e, real in r["above_real"]) or "-"
        print(f"| {task} | {r['edit_mean']:.3f} | {r['real_mean']:.3f} | {r['control_mean']:.3f} "
              f"| {len(r['above_real'])}: {above} |")


if __name__ == "__main__":
    main()
