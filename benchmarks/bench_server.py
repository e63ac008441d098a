"""Load on a real local server: concurrent clients dragging sliders, and upload churn.

    python benchmarks/bench_server.py [--clients 8] [--seconds 30] [--churn-seconds 20]
        [--port 8765] [--out benchmarks/results_server.json]

Starts `facedit serve` (uvicorn, shipped models) in a subprocess, then:

1. edit phase: --clients threads, each with its own HTTP connection, upload the astronaut once,
   touch each slider once (the first move of an attribute measures its calibration curve; timed
   apart), then for --seconds send one slider move after the other with no pause (as the page
   does while a slider is dragged: one request in flight per client), each a new random target
   for the smile and blond-hair sliders -> the edited photo as a 768 px JPEG. Reported: p50 /
   p95 / max latency of these renders, requests per second, errors.
2. churn phase: for --churn-seconds, 4 clients upload new photos (the astronaut upscaled to
   1024 px, each with a different border so none is the same file) as fast as they can, so the
   face cache (--cache-faces) turns over again and again.

The server's resident memory (RSS, from /proc) is sampled every 0.25 s through both phases.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import httpx
import numpy as np
from PIL import Image
from skimage import data

ROOT = Path(__file__).resolve().parents[1]
ATTRIBUTES = ("smiling", "blond_hair")


def png(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values, q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def start_server(port: int, cache_faces: int, threads: int | None) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "facedit", "serve", "--port", str(port),
           "--cache-faces", str(cache_faces)]
    env = dict(os.environ, **({"OMP_NUM_THREADS": str(threads)} if threads else {}))
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.25)
    proc.kill()
    raise SystemExit("the server did not start within 120 s")


class Sampler(threading.Thread):
    """The server's RSS every `period` seconds, tagged with the phase."""

    def __init__(self, pid: int, period: float = 0.25):
        super().__init__(daemon=True)
        self.pid, self.period, self.phase = pid, period, "idle"
        self.samples: list[tuple[float, str, float]] = []
        self.stop = threading.Event()

    def run(self):
        t0 = time.time()
        while not self.stop.is_set():
            self.samples.append((round(time.time() - t0, 2), self.phase, rss_mb(self.pid)))
            time.sleep(self.period)


def edit_client(base: str, photo: bytes, seconds: float, seed: int, out: dict,
                start: threading.Barrier) -> None:
    rng = random.Random(seed)
    with httpx.Client(base_url=base, timeout=60) as client:
        try:  # whatever happens here, reach the barrier: the other clients wait on it
            r = client.post("/v1/faces", files={"file": ("astronaut.png", photo, "image/png")})
            if r.status_code != 200:
                out["errors"].append(f"upload {r.status_code}")
                return
            face = r.json()["face_id"]
            for name in ATTRIBUTES:  # first touch: the calibration curve is measured
                t = time.perf_counter()
                r = client.post(f"/v1/faces/{face}/render",
                                json={"strengths": {name: 0.5}, "max_side": 768})
                out["first_touch_ms"].append((time.perf_counter() - t) * 1000)
        except httpx.HTTPError as exc:
            out["errors"].append(f"setup: {exc!r}"[:200])
            return
        finally:
            start.wait()
        end = time.time() + seconds
        while time.time() < end:
            body = {"strengths": {"smiling": round(rng.uniform(0.05, 0.99), 2),
                                  "blond_hair": round(rng.uniform(0.05, 0.9), 2)},
                    "max_side": 768, "format": "jpeg"}
            t = time.perf_counter()
            try:
                r = client.post(f"/v1/faces/{face}/render", json=body)
                ok = r.status_code == 200 and r.content[:2] == b"\xff\xd8"
            except httpx.HTTPError as exc:
                ok, r = False, exc
            ms = (time.perf_counter() - t) * 1000
            if ok:
                out["render_ms"].append(ms)
            else:
                out["errors"].append(str(getattr(r, "status_code", r)))


def churn_client(base: str, seconds: float, seed: int, out: dict) -> None:
    big = cv2.resize(data.astronaut(), (1024, 1024), interpolation=cv2.INTER_CUBIC)
    with httpx.Client(base_url=base, timeout=60) as client:
        end, i = time.time() + seconds, 0
        while time.time() < end:
            photo = big.copy()
            photo[:4, :4] = (seed * 37 + i) % 256  # a different file each time
            t = time.perf_counter()
            r = client.post("/v1/faces", files={"file": ("big.png", png(photo), "image/png")})
            if r.status_code == 200:
                out["upload_ms"].append((time.perf_counter() - t) * 1000)
            else:
                out["errors"].append(f"upload {r.status_code}")
            i += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--churn-seconds", type=float, default=20.0)
    parser.add_argument("--cache-faces", type=int, default=8)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads of the server (OMP_NUM_THREADS) [default: torch's]")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results_server.json")
    args = parser.parse_args()

    proc = start_server(args.port, args.cache_faces, args.threads)
    base = f"http://127.0.0.1:{args.port}"
    sampler = Sampler(proc.pid)
    sampler.start()
    try:
        # 1. edit phase
        out = {"render_ms": [], "first_touch_ms": [], "errors": []}
        photo = png(data.astronaut())
        barrier = threading.Barrier(args.clients + 1)
        threads = [threading.Thread(target=edit_client,
                                    args=(base, photo, args.seconds, i, out, barrier))
                   for i in range(args.clients)]
        sampler.phase = "warmup"
        for t in threads:
            t.start()
        barrier.wait()
        sampler.phase = "edit"
        t0 = time.time()
        for t in threads:
            t.join()
        edit_wall = time.time() - t0
        # 2. churn phase
        sampler.phase = "churn"
        churn = {"upload_ms": [], "errors": []}
        threads = [threading.Thread(target=churn_client, args=(base, args.churn_seconds, i, churn))
                   for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        sampler.phase = "after"
        time.sleep(1.0)
        health = httpx.get(f"{base}/v1/health").json()
    finally:
        sampler.stop.set()
        sampler.join()
        proc.terminate()
        proc.wait(timeout=20)

    renders = out["render_ms"]
    rss = {phase: [s[2] for s in sampler.samples if s[1] == phase]
           for phase in ("idle", "warmup", "edit", "churn", "after")}
    result = {
        "command": "python benchmarks/bench_server.py " + " ".join(sys.argv[1:]),
        "server": f"facedit serve (uvicorn, shipped models), --cache-faces {args.cache_faces}, "
                  f"torch threads {args.threads or 'default'}",
        "edit_phase": {
            "clients": args.clients, "seconds": args.seconds,
            "request": "POST /v1/faces/{id}/render, smiling + blond_hair targets, 768 px JPEG",
            "renders": len(renders), "errors": len(out["errors"]),
            "error_samples": out["errors"][:5],
            "requests_per_s": round(len(renders) / edit_wall, 1),
            "p50_ms": round(percentile(renders, 50), 1),
            "p95_ms": round(percentile(renders, 95), 1),
            "max_ms": round(max(renders), 1) if renders else None,
            "mean_ms": round(statistics.fmean(renders), 1) if renders else None,
            "first_touch_ms_median": round(percentile(out["first_touch_ms"], 50), 1),
        },
        "churn_phase": {
            "clients": 4, "seconds": args.churn_seconds, "photo": "1024x1024 PNG",
            "uploads": len(churn["upload_ms"]), "errors": len(churn["errors"]),
            "upload_p50_ms": round(percentile(churn["upload_ms"], 50), 1),
            "faces_cached_after": health["faces_cached"], "cache_limit": health["cache_limit"],
        },
        "rss_mb": {phase: {"min": round(min(v), 1), "max": round(max(v), 1)}
                   for phase, v in rss.items() if v},
        "rss_trace_mb": [(t, p, round(m, 1)) for t, p, m in sampler.samples[::4]],
        "environment": {"python": platform.python_version(), "cpu_count": os.cpu_count(),
                        "load_average_1min_at_end": round(os.getloadavg()[0], 2)},
    }
    args.out.write_text(json.dumps(result, indent=1))
    print(json.dumps({k: v for k, v in result.items() if k != "rss_trace_mb"}, indent=1))


if __name__ == "__main__":
    main()
