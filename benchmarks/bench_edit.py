"""Time to edit a 1-megapixel photo, and to re-edit a face already encoded (a slider move).

    python benchmarks/bench_edit.py [--runs 20] [--warmup 3] [--threads 2]
        [--model-dir DIR] [--classifier-dir DIR] [--out benchmarks/results_edit_speed.json]

The photo is the public-domain astronaut upscaled to 1000x1000. Two figures, medians over --runs:

* photo -> edited photo: `Editor.edit(photo, {"smiling": 0.95})`, i.e. detect + align + encode,
  the calibrated search for the step (decodes judged by the classifier), render, paste back, and
  the judge's before/after readings; with the median of each stage beside it;
* re-edit: a new raw strength on the already encoded face, `Editor.render` + `paste_back` (what a
  slider does), each run a different strength; and the same through `Editor.edit(raw=True,
  faces=...)`, which also reads the judge before and after.

Models: the shipped weights, or --model-dir / --classifier-dir, or (with neither) the training
checkpoints in --checkpoints, as in `eval_edits.py`.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from skimage import data

from facedit.align import paste_back

SIDE = 1000
ATTRIBUTE, TARGET = "smiling", 0.95


def make_photo(side: int = SIDE) -> np.ndarray:
    """(side, side, 3) uint8 RGB: the astronaut upscaled."""
    return cv2.resize(data.astronaut(), (side, side), interpolation=cv2.INTER_CUBIC)


def load_editor(args):
    """(editor, description of the weights): the user's `Editor.load` when weights exist."""
    from facedit.edit import Editor
    from facedit.judge import Judge
    from facedit.models import WEIGHTS

    if args.model_dir is not None or (WEIGHTS / "vae" / "directions").is_dir():
        editor = Editor.load(f"builtin:{args.model_dir}" if args.model_dir else "builtin")
        if args.classifier_dir is not None:
            editor.judge = Judge(path=args.classifier_dir)
        return editor, {"model": str(args.model_dir or WEIGHTS / "vae"),
                        "classifier": str(args.classifier_dir or WEIGHTS / "classifier")}
    from eval_edits import load_models  # the sibling script (dev checkpoints, no shipped weights)

    models = load_models(args.model_dir, args.classifier_dir, args.checkpoints, args.cache,
                         args.direction_samples)
    return models.editor, models.info


def ms(fn, *a, **kw):
    t0 = time.perf_counter()
    out = fn(*a, **kw)
    return out, (time.perf_counter() - t0) * 1000


def time_full_edit(editor, photo: np.ndarray, runs: int) -> list[float]:
    return [ms(editor.edit, photo, {ATTRIBUTE: TARGET})[1] for _ in range(runs)]


def time_stages(editor, photo: np.ndarray, runs: int) -> dict[str, float]:
    """Median ms of each stage of a calibrated edit (the same calls `Editor.edit` makes)."""
    stages: dict[str, list[float]] = {"detect_align_encode": [], "solve_step": [], "render": [],
                                      "paste_back": [], "judge_readings": []}
    for _ in range(runs):
        faces, t_enc = ms(editor.encode, photo)
        face = faces[0]
        steps, t_solve = ms(editor.solve_steps, face, {ATTRIBUTE: TARGET})
        crop, t_render = ms(editor.render, face, steps)
        _, t_paste = ms(paste_back, photo, face.aligned, crop)
        _, t_read = ms(editor._readings, [face], [crop], {ATTRIBUTE: TARGET})
        for name, t in zip(stages, (t_enc, t_solve, t_render, t_paste, t_read)):
            stages[name].append(t)
    return {name: round(statistics.median(v), 1) for name, v in stages.items()}


def time_re_edit(editor, photo: np.ndarray, runs: int) -> tuple[list[float], list[float]]:
    """ms of render + paste back, and of `edit(raw=True, faces=...)`, each run a new strength."""
    face = editor.encode(photo)[0]
    # Never 0 (a zero step renders nothing); alternating signs so no two runs decode alike.
    strengths = np.linspace(0.5, 2.5, runs) * np.where(np.arange(runs) % 2, -1, 1)
    slider, full = [], []
    for s in strengths:
        t0 = time.perf_counter()
        crop = editor.render(face, {ATTRIBUTE: float(s)})
        paste_back(photo, face.aligned, crop)
        slider.append((time.perf_counter() - t0) * 1000)
        full.append(ms(editor.edit, photo, {ATTRIBUTE: float(-s)}, raw=True, faces=[face])[1])
    return slider, full


def summary(times: list[float]) -> dict:
    return {"median_ms": round(statistics.median(times), 1), "min_ms": round(min(times), 1),
            "p90_ms": round(float(np.percentile(times, 90)), 1)}


def main(argv: list[str] | None = None) -> dict:
    import torch

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--model-dir", type=Path, default=None)
    p.add_argument("--classifier-dir", type=Path, default=None)
    p.add_argument("--checkpoints", type=Path, default=Path("runs"),
                   help="training checkpoints used when no weights are shipped")
    p.add_argument("--cache", type=Path, default=Path("cache/prepared-128"))
    p.add_argument("--direction-samples", type=int, default=2000)
    p.add_argument("--out", type=Path,
                   default=Path(__file__).with_name("results_edit_speed.json"))
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)

    # 1. models, the photo, warm-up (first-call costs, model loading)
    editor, weights = load_editor(args)
    photo = make_photo()
    time_full_edit(editor, photo, args.warmup)
    # 2. timings
    runs = args.runs
    full = time_full_edit(editor, photo, runs)
    stages = time_stages(editor, photo, runs)
    slider, raw_edit = time_re_edit(editor, photo, runs)
    # 3. report
    result = {
        "task": f"smile to {TARGET} on the astronaut upscaled to {SIDE}x{SIDE}",
        "runs": runs, "warmup": args.warmup, "threads": args.threads,
        "photo_to_edited_photo": {**summary(full), "stage_median_ms": stages},
        "re_edit_render_paste": summary(slider),
        "re_edit_via_edit_raw": summary(raw_edit),
        "weights": weights,
        "environment": {"python": platform.python_version(), "cpu_count": os.cpu_count(),
                        "load_average_1min": round(os.getloadavg()[0], 2),
                        "torch": torch.__version__, "opencv": cv2.__version__},
    }
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    print(f"wrote {args.out}", file=sys.stderr)
    return result


if __name__ == "__main__":
    main()
