"""Time to find and align the face in a 1-megapixel photo, and the memory it takes.

    python benchmarks/bench_align.py [--runs 30] [--warmup 5] [--out benchmarks/results_align.json]

The photo is the public-domain astronaut upscaled to 1000x1000. After warm-up (model loading and
first-call costs), each run is `FaceDetector.detect` + `align` to 256 px; the median over the runs is
the figure, with the median of each stage beside it (box detection, mesh, warp) so a slow total says
where the time goes. Memory: the peak of Python-visible allocations during one detect + align
(tracemalloc, which numpy reports to) and the process's peak resident set (getrusage).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import cv2
import numpy as np
from skimage import data

from facedit.align import align
from facedit.faces import FaceDetector

GOAL_MS = 60.0
SIDE = 1000  # 1000 x 1000 = 1 megapixel
CROP = 256


def make_photo(side: int = SIDE) -> np.ndarray:
    """(side, side, 3) uint8 RGB: the astronaut upscaled."""
    return cv2.resize(data.astronaut(), (side, side), interpolation=cv2.INTER_CUBIC)


def detect_and_align_once(detector: FaceDetector, photo: np.ndarray):
    return align(photo, detector.largest(photo, "benchmark photo"), CROP)


def time_total(detector: FaceDetector, photo: np.ndarray, runs: int) -> list[float]:
    """Milliseconds of each of `runs` detect + align calls."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        detect_and_align_once(detector, photo)
        times.append((time.perf_counter() - start) * 1000)
    return times


def time_stages(detector: FaceDetector, photo: np.ndarray, runs: int) -> dict[str, float]:
    """Median milliseconds of each stage. Uses the detector's internals on purpose: the stages are
    what a profile of a slow total needs."""
    stages: dict[str, list[float]] = {"boxes": [], "mesh": [], "align": []}
    for _ in range(runs):
        t0 = time.perf_counter()
        box, score = detector._boxes(photo)[0]
        t1 = time.perf_counter()
        face = detector.mesh_in_box(photo, box, score)
        t2 = time.perf_counter()
        align(photo, face, CROP)
        t3 = time.perf_counter()
        for name, seconds in zip(stages, (t1 - t0, t2 - t1, t3 - t2)):
            stages[name].append(seconds * 1000)
    return {name: round(statistics.median(ms), 2) for name, ms in stages.items()}


def peak_memory(detector: FaceDetector, photo: np.ndarray) -> dict[str, float]:
    """Peak MiB of traced Python/numpy allocations during one call, and the process's peak RSS."""
    tracemalloc.start()
    detect_and_align_once(detector, photo)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    maxrss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {"tracemalloc_peak_mib": round(peak / 2**20, 2),
            "maxrss_mib": round(maxrss_kib / 1024, 1)}


def environment() -> dict:
    import mediapipe

    return {"python": platform.python_version(), "machine": platform.machine(),
            "cpu_count": os.cpu_count(), "load_average_1min": round(os.getloadavg()[0], 2),
            "opencv": cv2.__version__, "mediapipe": mediapipe.__version__,
            "numpy": np.__version__}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("results_align.json"))
    args = parser.parse_args(argv)

    # 1. the photo and a warmed-up detector
    photo = make_photo()
    detector = FaceDetector()
    time_total(detector, photo, args.warmup)
    # 2. timings: the total, then each stage
    total = time_total(detector, photo, args.runs)
    stages = time_stages(detector, photo, args.runs)
    # 3. memory, after the timings so tracing does not slow them
    memory = peak_memory(detector, photo)
    # 4. report
    median = statistics.median(total)
    result = {
        "task": f"detect + align to {CROP} px, astronaut upscaled to {SIDE}x{SIDE}",
        "runs": args.runs, "warmup": args.warmup,
        "median_ms": round(median, 2), "min_ms": round(min(total), 2),
        "p90_ms": round(float(np.percentile(total, 90)), 2),
        "goal_ms": GOAL_MS, "meets_goal": median <= GOAL_MS,
        "stage_median_ms": stages, "memory": memory, "environment": environment(),
    }
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    print(f"wrote {args.out}", file=sys.stderr)
    return result


if __name__ == "__main__":
    main()
