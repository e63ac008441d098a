"""Turning a finished run into a shipped model folder with a model card of measured figures."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from facedit.data.dataset import PreparedSet
from facedit.data.sources import CELEBA_CROPS
from facedit.io import atomic_output
from facedit.models.store import save_model

LICENCE = ("Weights trained by facedit on CelebA (Liu et al., ICCV 2015) and UTKFace (Zhang et "
           "al., CVPR 2017) images, which are for non-commercial research use only; these weights "
           "inherit that restriction. The facedit code is MIT-licensed.")


def _run_facts(cache: Path, run_dir: Path) -> dict:
    options = json.loads((Path(run_dir) / "options.json").read_text())
    state = torch.load(Path(run_dir) / "state.pt", map_location="cpu", weights_only=True)
    log_file = Path(run_dir) / "log.jsonl"  # absent when a slow run never reached a log step
    log = [json.loads(line) for line in log_file.read_text().splitlines()] \
        if log_file.is_file() else []
    warm = {}
    if options.get("init"):  # a warm-started run: count the run it started from too
        start = _warm_start(options["init"], options.get("kind", "vae"))
        warm = {"warm_start": start}
        if "seconds" in start:
            warm["total_seconds"] = round(float(state["elapsed"]) +
                                          start.get("total_seconds", start["seconds"]), 1)
    return {"data": PreparedSet.summary(cache), "training": {**warm,
        "options": options, "steps": int(state["step"]), "epochs_completed": int(state["epoch"]),
        "seconds": round(float(state["elapsed"]), 1), "machine": "2-core CPU (AVX, no AVX2)",
        "last_log": log[-1] if log else None}}


def _warm_start(init: str, kind: str = "vae") -> dict:
    """What a warm-started run started from: another run's state.pt (its steps and seconds, and
    the run that one started from, if any: `total_seconds` counts the whole chain), or a model
    folder of `kind` ('builtin': the shipped one) whose card gives its training's steps and total
    seconds (earlier warm starts included, as `total_steps` and `seconds`)."""
    from facedit.models import model_folder

    path = model_folder(kind, init)
    if path.is_file():
        state = torch.load(path, map_location="cpu", weights_only=True)
        out = {"from": init, "steps": int(state["step"]),
               "seconds": round(float(state["elapsed"]), 1)}
        options = path.parent / "options.json"
        earlier = json.loads(options.read_text()).get("init") if options.is_file() else None
        if earlier:
            before = _warm_start(earlier, kind)
            out["warm_start"] = before
            if "seconds" in before:
                out["total_seconds"] = round(out["seconds"] + before.get("total_seconds",
                                                                         before["seconds"]), 1)
        return out
    card = path / "model_card.json"
    if card.is_file():
        training = json.loads(card.read_text()).get("training", {})
        shipped = f"the {'VAE' if kind == 'vae' else kind} shipped before this one"
        out = {"from": init if init != "builtin" else shipped,
               "steps": training.get("steps")}
        earlier = training.get("warm_start") or {}
        earlier_steps = earlier.get("total_steps", earlier.get("steps"))
        if out["steps"] is not None and earlier_steps is not None:
            out["total_steps"] = out["steps"] + earlier_steps  # the folder's whole chain
        seconds = training.get("total_seconds", training.get("seconds"))
        if seconds is not None:
            out["seconds"] = round(float(seconds), 1)
        return out
    return {"from": init}


def export_classifier(model, cache: Path, run_dir: Path, folder: Path) -> dict:
    from facedit.train.classifier import evaluate

    test = PreparedSet.load(cache, "test", in_memory=True)
    metrics = evaluate(model, test)
    card = {"model": "facedit attribute classifier", "resolution": 128,
            "input": "aligned crop (facedit.align), RGB in [0, 1], (B, 3, 128, 128)",
            "outputs": "40 CelebA attribute logits + age in years",
            "metrics": {"split": "test (people never seen in training)", **metrics},
            **_run_facts(cache, run_dir), "licence": LICENCE}
    save_model(folder, model, model.config, card, half=True)
    return card


def reconstruction_scores(reconstructions: np.ndarray, images: np.ndarray) -> dict:
    """Mean PSNR (dB) and SSIM of (N, S, S, 3) uint8 reconstructions against their images."""
    from skimage.metrics import structural_similarity

    mse = ((reconstructions.astype(np.float64) - images) ** 2).mean(axis=(1, 2, 3))
    psnr = 10 * np.log10(255.0 ** 2 / np.maximum(mse, 1e-10))
    ssim = [structural_similarity(a, b, channel_axis=2, data_range=255)
            for a, b in zip(reconstructions, images)]
    return {"psnr_db": float(np.mean(psnr)), "ssim": float(np.mean(ssim)), "images": len(images)}


@torch.no_grad()
def reconstruction_metrics(model, images: np.ndarray, batch: int = 64) -> dict:
    """Mean PSNR (dB) and SSIM of mean-latent reconstructions of (N, S, S, 3) uint8 crops."""
    from facedit.train.common import to_tensor, to_uint8

    model.eval()
    out = [to_uint8(model.decode(model.encode(to_tensor(images[i:i + batch]))[0]))
           for i in range(0, len(images), batch)]
    return reconstruction_scores(np.concatenate(out), np.asarray(images))


def export_vae(model, cache: Path, run_dir: Path, folder: Path, part=None) -> dict:
    """A VAE's model folder; a part model's (`part`, a `facedit.parts.Part`) is measured on its
    box of the test crops, and its card names the box."""
    test = PreparedSet.load(cache, "test", in_memory=True).from_sources(
        CELEBA_CROPS)
    if part is not None:
        test = part.of(test)
    metrics = reconstruction_metrics(model, test.images)
    s = model.config.size
    card = {"model": f"facedit {part.name} part VAE" if part else "facedit face VAE",
            "resolution": s,
            "input": (f"box {list(part.box)} (x0, y0, x1, y1, fractions) of the aligned crop "
                      f"at {part.crop_side(s)} px" if part else
                      "aligned crop (facedit.align)") + f", RGB in [0, 1], (B, 3, {s}, {s})",
            **({"part": part.to_dict()} if part else {}),
            "latent": model.config.latent,
            "metrics": {"split": "test, CelebA (people never seen in training)",
                        "reconstruction": metrics},
            **_run_facts(cache, run_dir), "licence": LICENCE}
    save_model(folder, model, model.config, card, half=True)
    return card


def export_kit_checkpoint(model, cache: Path, run_dir: Path, path: Path,
                          limit: int = 500) -> dict:
    """The baseline as the kit saves it (`torch.save(model.state_dict())`), with a JSON card of its
    measured reconstruction (first `limit` CelebA test crops: the model is slow) beside it."""
    test = PreparedSet.load(cache, "test", in_memory=True).from_sources(
        CELEBA_CROPS)
    test = test.subset(np.arange(len(test)) < limit)
    card = {"model": "second source's baseline VAE (Deepest kit layout), retrained by facedit",
            "config": model.config.to_dict(),
            "metrics": {"split": "test, CelebA", "reconstruction":
                        reconstruction_metrics(model, test.images)},
            **_run_facts(cache, run_dir), "licence": LICENCE}
    with atomic_output(path) as tmp:
        torch.save(model.state_dict(), tmp)
    with atomic_output(Path(str(path) + ".json")) as tmp:
        tmp.write_text(json.dumps(card, indent=1))
    return card
