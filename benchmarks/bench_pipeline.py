"""Benchmark of the batch pipeline (issue 5) on the 72-image synthetic competition set.

    .venv/bin/python benchmarks/bench_pipeline.py [--models shipped|random|tiny] [--work DIR]
        [--kills 3] [--no-ray] [--only-workers 2]

1. makes the 72-image full factorial (`facedit.pipeline.synthetic`) in WORK/data;
2. runs `facedit pipeline run` with default post-processing as a separate process, with
   --workers 1, --workers 2 and --executor ray --workers 2 (a local Ray instance), timing each
   (wall time including start-up, and the run's own time without it);
3. checks each result (`pipeline check`: 24 outputs per non-bald and 25 per bald image, 512 x 512
   RGB) and that all three give byte-identical PNGs;
4. kills a --workers 2 run (SIGKILL to its process group) `--kills` times, each when a random
   number of its PNGs are written, resuming each time; after every kill every PNG present must
   decode completely, and the final outputs must equal the uninterrupted run's.

`--models shipped` uses the shipped weights (the real benchmark); `random` uses random weights of
the shipped architectures (timing before the weights exist); `tiny` the tests' tiny models.
Results go to benchmarks/results_pipeline.json (or --results).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from facedit.pipeline import synthetic

ROOT = Path(__file__).resolve().parents[1]


def random_models(folder: Path) -> list[str]:
    """Random weights of the shipped architectures, saved as model folders."""
    import torch

    from facedit.directions import DirectionSet
    from facedit.models.classifier import AttributeClassifier, ClassifierConfig
    from facedit.models.store import save_model
    from facedit.models.vae import FaceVAE, VAEConfig
    from facedit.pipeline.tiny import characteristic_attributes

    torch.manual_seed(0)
    vae_config, clf_config = VAEConfig(), ClassifierConfig()
    card = {"note": "random weights, for timing only"}
    save_model(folder / "vae", FaceVAE(vae_config), vae_config, card)
    save_model(folder / "classifier", AttributeClassifier(clf_config), clf_config, card)
    names = characteristic_attributes()
    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(vae_config.latent, len(names))))
    DirectionSet(names, q.T, {n: {"scale": 1.0} for n in names}).save(folder / "vae" /
                                                                       "directions")
    return [f"pipeline.model=builtin:{folder / 'vae'}", f"pipeline.judge={folder / 'classifier'}"]


def overrides_for(kind: str, work: Path) -> list[str]:
    if kind == "shipped":
        return [f"translation.user_dir={work / 'no-user-translations'}"]
    if kind == "tiny":
        from facedit.pipeline.tiny import make_tiny_models
        return make_tiny_models(work / "models") + [f"translation.user_dir={work / 'none'}"]
    return random_models(work / "models") + [f"translation.user_dir={work / 'none'}"]


def command(data: Path, out: Path, overrides: list[str], *extra: str) -> list[str]:
    args = [sys.executable, "-m", "facedit", "pipeline", "run", str(data), "-o", str(out),
            "--quiet", *extra]
    for o in overrides:
        args += ["--set", o]
    return args


def hashes(out: Path) -> dict[str, str]:
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.glob("*/*.png"))}


def timed_run(data: Path, out: Path, overrides: list[str], *extra: str) -> dict:
    start = time.perf_counter()
    proc = subprocess.run(command(data, out, overrides, *extra), capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"run failed ({' '.join(extra)}):\n{proc.stderr[-3000:]}")
    report = json.loads((out / "report.json").read_text())
    return {"wall_s": round(wall, 2), "run_s": report["seconds"],
            "images_per_s_wall": round(report["images"] / wall, 3),
            "images_per_s_run": report["images_per_second"],
            "outputs_per_s_wall": round(report["outputs"] / wall, 2),
            "outputs": report["outputs"], "expected": report["expected_outputs"],
            "gate": report["gate"], "flags": report["flags"]}


def check(out: Path, data: Path) -> dict:
    from facedit.pipeline.check import check_output

    result = check_output(out, data)
    counts = {}
    for folder in sorted(p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")):
        n = len(list(folder.glob("[!.]*.png")))
        counts[n] = counts.get(n, 0) + 1
    return {"ok": result.ok, "images": result.images, "outputs": result.outputs,
            "problems": result.lines()[:20], "folders_by_output_count": counts}


def complete_pngs(out: Path) -> tuple[int, int]:
    """(PNG outputs that decode completely, hidden temporary files) in OUT."""
    from PIL import Image

    good = 0
    for p in out.glob("*/*.png"):
        if p.name.startswith("."):
            continue
        with Image.open(p) as im:
            im.load()  # raises on a truncated file
        good += 1
    return good, len(list(out.rglob(".*.part*")))


def _count_pngs(out: Path) -> int:
    return sum(1 for p in out.glob("*/*.png") if not p.name.startswith(".")) \
        if out.exists() else 0


def kill_and_resume(data: Path, out: Path, overrides: list[str], kills: int, total: int,
                    seed: int = 0) -> dict:
    """Kill a --workers 2 run `kills` times, each at a random number of finished PNGs drawn
    between what is there and the total, then let a last run finish."""
    rng = np.random.default_rng(seed)
    events = []
    for _ in range(kills):
        done = _count_pngs(out)
        target = int(rng.integers(done + 1, max(done + 2, total - 30)))  # before the last image
        proc = subprocess.Popen(command(data, out, overrides, "--workers", "2"),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        start = time.perf_counter()
        while proc.poll() is None and _count_pngs(out) < target:
            time.sleep(0.02)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        good, parts = complete_pngs(out)
        events.append({"target_pngs": target, "killed_after_s": round(time.perf_counter() -
                                                                      start, 2),
                       "complete_pngs": good, "temporary_files_left": parts})
    final = subprocess.run(command(data, out, overrides, "--workers", "2"), capture_output=True,
                           text=True)
    if final.returncode != 0:
        raise SystemExit(f"resume failed:\n{final.stderr[-3000:]}")
    good, parts = complete_pngs(out)
    return {"kills": events, "final_pngs": good, "temporary_files_at_end": parts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", choices=("shipped", "random", "tiny"), default="shipped")
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--no-ray", action="store_true")
    parser.add_argument("--count", type=int, default=None,
                        help="A handful of images instead of the 72 (a quick trial).")
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" /
                        "results_pipeline.json")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="bench_pipeline_"))
    data = work / "data"
    if not data.is_dir():
        synthetic.make_set(data, synthetic.handful(args.count) if args.count else
                           synthetic.factorial_names())
    overrides = overrides_for(args.models, work)
    results = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
               "models": args.models, "images": len(list(data.glob("*.png"))), "runs": {}}
    runs = [("workers_1", ()), ("workers_2", ("--workers", "2"))]
    if not args.no_ray:
        runs.append(("ray_2", ("--executor", "ray", "--workers", "2")))
    reference = None
    for name, extra in runs:
        out = work / f"out_{name}"
        shutil.rmtree(out, ignore_errors=True)
        load_before = os.getloadavg()[0]
        results["runs"][name] = timed_run(data, out, overrides, *extra)
        # Other work on the machine slows a run down: the load averages say how busy it was.
        results["runs"][name]["load_average_1min_before_after"] = [round(load_before, 2),
                                                                   round(os.getloadavg()[0], 2)]
        results["runs"][name]["check"] = check(out, data)
        h = hashes(out)
        reference = reference or h
        results["runs"][name]["identical_to_workers_1"] = h == reference
        print(name, json.dumps(results["runs"][name]), flush=True)
    if args.kills:
        out = work / "out_killed"
        shutil.rmtree(out, ignore_errors=True)
        total = results["runs"]["workers_1"]["expected"]
        resume = kill_and_resume(data, out, overrides, args.kills, total)
        resume["identical_to_uninterrupted"] = hashes(out) == reference
        resume["check"] = check(out, data)
        results["kill_resume"] = resume
        print("kill_resume", json.dumps(resume), flush=True)
    results["goal"] = {"workers_2_wall_s_max": 120}
    args.results.write_text(json.dumps(results, indent=1) + "\n")
    print(f"results: {args.results}; work folder: {work}")


if __name__ == "__main__":
    main()
