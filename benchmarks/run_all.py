"""`make bench`: every speed benchmark (benchmarks/bench_*.py) and a small quality evaluation on
../shared/data, gathered into benchmarks/results.json and benchmarks/SUMMARY.md.

    python benchmarks/run_all.py [--skip pipeline ...] [--only align ...] [--data ../shared/data]
        [--eval-n 20] [--no-eval]

Each benchmark runs as its own process (its own imports, threads and peak memory), writes its
own results_*.json as it always does, and its log goes to outputs/bench_logs/. The quality
evaluation is `facedit.eval` on a few held-out CelebA photos per task (skipped, and said so, when
the data folder is absent); its grids go to outputs/bench_eval/, out of the repository. The full
evaluation (benchmarks/eval_edits.py, 300 photos per task) is too slow for `make bench` and is
linked from the summary.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from facedit.eval.report import write_json
from facedit.io import atomic_output

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# Arguments that give each benchmark its documented configuration (README's commands).
ARGS = {"bench_models": ["--threads", "1", "--cache", "cache/prepared-128"],
        "bench_edit": ["--runs", "20", "--threads", "2"],
        "bench_pipeline": ["--models", "shipped"]}
HEADLINE_KEYS = ("median_ms", "_ms", "wall_s", "per_s", "meets_goal", "identical",
                 "psnr_db", "seconds")
MAX_HEADLINE = 8


def run_benchmark(script: Path, logs: Path) -> dict:
    """Run one benchmark script; returns its status, time and the results files it wrote."""
    name = script.stem
    before = {p: p.stat().st_mtime for p in HERE.glob("results_*.json")}
    args = list(ARGS.get(name, []))
    if name == "bench_models" and not (ROOT / "cache" / "prepared-128").is_dir():
        args = ["--threads", "1"]
    logs.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    with (logs / f"{name}.log").open("w") as log:
        rc = subprocess.call([sys.executable, str(script), *args], cwd=ROOT, stdout=log,
                             stderr=subprocess.STDOUT)
    seconds = round(time.time() - t0, 1)
    written = sorted(p for p in HERE.glob("results_*.json")
                     if p.stat().st_mtime != before.get(p))
    results = {}
    for p in written:
        try:
            results[p.name] = json.loads(p.read_text())
        except ValueError as exc:
            results[p.name] = {"error": f"unreadable JSON: {exc}"}
    return {"command": " ".join(["python", f"benchmarks/{script.name}", *args]),
            "status": "ok" if rc == 0 else f"failed (exit {rc}, see {logs / (name + '.log')})",
            "seconds": seconds, "results_files": [f"benchmarks/{p.name}" for p in written],
            "results": results}


def headline(results: dict) -> dict:
    """A few leaf figures of a results file, picked by their names (times, rates, goals)."""
    found: dict = {}

    def walk(node, path):
        if len(found) >= MAX_HEADLINE:
            return
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{path}.{k}" if path else k)
        elif isinstance(node, (int, float, bool)) and any(path.endswith(k) or k in path.split(".")[-1]
                                                          for k in HEADLINE_KEYS):
            if "environment" not in path and "machine" not in path:
                found[path] = node

    walk(results, "")
    return found


def _shown(path: Path) -> str:
    """A path as the committed results show it: relative to the repository when it can be, so
    no machine's own folders end up in them."""
    try:
        return os.path.relpath(Path(path).resolve(), ROOT)
    except ValueError:  # another drive
        return str(path)


def quality(data: Path, n: int) -> dict:
    """The small held-out evaluation, or why it was skipped."""
    from facedit.eval.harness import EvalConfig, run_evaluation
    from facedit.eval.report import headline_rows
    from facedit.eval.tasks import is_shared_data

    if not is_shared_data(data):
        return {"status": f"skipped: {data} is not the shared data folder"}
    out = ROOT / "outputs" / "bench_eval"
    config = EvalConfig(n=n, curve_photos=4)
    t0 = time.time()
    report, _ = run_evaluation(data, out, config, grids_dir=out / "grids", show_progress=False)
    return {"status": "ok", "seconds": round(time.time() - t0, 1),
            "command": f"facedit eval {_shown(data)} --edits {config.edits} --methods "
                       f"{','.join(config.methods)} --n {n} --curve-photos "
                       f"{config.curve_photos} -o {out.relative_to(ROOT)}",
            "identity_model": report["identity_model"],
            "photos_per_task": {t: c["evaluated"] for t, c in
                                report["photos"]["per_task"].items()},
            "headline": [dict(zip(["task", "method", "n", "success", "identity", "max_flip",
                                   "attribute_dependency", "psnr_outside", "background",
                                   "seam", "realism", "ms_per_photo"], row))
                         for row in headline_rows(report)]}


def summary_markdown(results: dict) -> str:
    lines = ["# Benchmark summary", "",
             f"Generated by `make bench` (`python benchmarks/run_all.py`) on {results['date']}, "
             f"{results['environment']['cpu_count']} CPUs, load average "
             f"{results['environment']['load_average_1min']} at the start. Every figure is in "
             f"`benchmarks/results.json` and the benchmark's own results file.", "",
             "## Speed benchmarks", "", "| benchmark | status | seconds | headline figures |",
             "|---|---|---|---|"]
    for name, b in results["benchmarks"].items():
        figures = "; ".join(f"{k}: {v}" for r in b["results"].values()
                            for k, v in headline(r).items()) or "-"
        lines.append(f"| `{b['command']}` | {b['status']} | {b['seconds']} | {figures} |")
    q = results["quality"]
    lines += ["", "## Small quality evaluation", ""]
    if q["status"] != "ok":
        lines.append(q["status"])
    else:
        lines += [f"`{q['command']}` ({q['seconds']} s; identity model: {q['identity_model']})",
                  "", "| task | method | n | success | identity | max flip | PSNR outside | "
                      "seam | realism | ms / photo |", "|---|---|---|---|---|---|---|---|---|---|"]
        lines += [f"| {r['task']} | {r['method']} | {r['n']} | {r['success']} | {r['identity']} | "
                  f"{r['max_flip']} | {r['psnr_outside']} | {r['seam']} | {r['realism']} | "
                  f"{r['ms_per_photo']} |" for r in q["headline"]]
    lines += ["", "## Full held-out evaluation", "",
              "300 photos per task, three methods: `python benchmarks/eval_edits.py --n 300` → "
              "[`benchmarks/eval/report.json`](eval/report.json), "
              "[`report.html`](eval/report.html) and its plots in `benchmarks/eval/`.", ""]
    return "\n".join(lines)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", nargs="*", default=None,
                   help="benchmark names to run (align, models, ...); default: all")
    p.add_argument("--skip", nargs="*", default=[])
    p.add_argument("--data", type=Path, default=Path("../shared/data"))
    p.add_argument("--eval-n", type=int, default=20, help="photos per task of the quality run")
    p.add_argument("--no-eval", action="store_true")
    args = p.parse_args(argv)

    scripts = sorted(HERE.glob("bench_*.py"))
    names = {s.stem.removeprefix("bench_"): s for s in scripts}
    chosen = [n for n in names if (args.only is None or n in args.only) and n not in args.skip]
    results = {"date": datetime.datetime.now().isoformat(timespec="seconds"),
               "command": "python benchmarks/run_all.py " + " ".join(argv or sys.argv[1:]),
               "environment": {"python": platform.python_version(), "cpu_count": os.cpu_count(),
                               "load_average_1min": round(os.getloadavg()[0], 2)},
               "benchmarks": {}, "skipped": sorted(set(names) - set(chosen))}
    for name in chosen:
        print(f"bench {name} ...", flush=True)
        results["benchmarks"][name] = b = run_benchmark(names[name], ROOT / "outputs" /
                                                        "bench_logs")
        print(f"  {b['status']} in {b['seconds']} s", flush=True)
    data = args.data if args.data.is_absolute() else ROOT / args.data
    results["quality"] = {"status": "skipped (--no-eval)"} if args.no_eval else \
        quality(data, args.eval_n)
    print(f"quality evaluation: {results['quality']['status']}", flush=True)
    write_json(HERE / "results.json", results)
    with atomic_output(HERE / "SUMMARY.md") as tmp:
        tmp.write_text(summary_markdown(results))
    print(f"wrote {HERE / 'results.json'} and {HERE / 'SUMMARY.md'}")
    return results


if __name__ == "__main__":
    main()
