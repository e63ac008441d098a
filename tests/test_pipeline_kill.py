"""A real kill: `facedit pipeline run` in its own process, SIGKILLed three times while it writes,
resumed each time; no partial PNG ever, and the final outputs equal an uninterrupted run's."""
from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from facedit.config import load_config
from facedit.io import save_image
from facedit.pipeline.run import run_pipeline
from facedit.pipeline.tiny import make_tiny_models

pytestmark = pytest.mark.slow

NAMES = ("0_0_0_0_0_0_0_0_0", "2_1_0_1_1_1_4_1_2")


def _pngs(out: Path) -> list[Path]:
    return [p for p in out.glob("*/*.png") if not p.name.startswith(".")] if out.exists() else []


def _hashes(out: Path) -> dict[str, str]:
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(_pngs(out))}


def test_sigkilled_runs_resume_to_the_same_bytes(tmp_path, astronaut):
    overrides = make_tiny_models(tmp_path / "m") + [f"translation.user_dir={tmp_path / 'u'}"]
    data = tmp_path / "data"
    for i, name in enumerate(NAMES):
        save_image(data / f"{name}.png", astronaut if i == 0 else astronaut[:, ::-1].copy())
    reference = tmp_path / "ref"
    run_pipeline(data, reference, load_config(overrides=overrides), progress=False)

    out = tmp_path / "out"
    args = [sys.executable, "-m", "facedit", "pipeline", "run", str(data), "-o", str(out),
            "--quiet"] + [a for o in overrides for a in ("--set", o)]
    killed = 0
    for target in (3, 20, 30):  # PNGs on disk when the kill comes
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        deadline = time.time() + 120
        while proc.poll() is None and len(_pngs(out)) < target and time.time() < deadline:
            time.sleep(0.01)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            killed += 1
        proc.wait()
        for p in _pngs(out):  # every PNG present is complete
            with Image.open(p) as im:
                im.load()
    assert killed >= 2
    final = subprocess.run(args, capture_output=True, text=True)
    assert final.returncode == 0, final.stderr[-2000:]
    assert _hashes(out) == _hashes(reference) and len(_hashes(out)) == 49
    assert not list(out.rglob("*.part*"))
