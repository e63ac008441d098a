"""Training the attribute classifier (`facedit train classifier`).

Batches mix CelebA crops (40 attributes, binary cross-entropy) and UTKFace crops (age, smooth L1 on
(age - 35) / 20; gender also teaches `Male`). The learning rate follows a cosine over the run's
time budget, so a run stopped and resumed keeps the same schedule. With `swap_rate`, a share of the
CelebA faces get another face's eye band with the other Eyeglasses label
(`facedit.train.swap`), so eyeglasses stop telling the classifier about age, sex or make-up.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from facedit.data.dataset import PreparedSet, has_landmarks
from facedit.data.sources import CELEBA_ATTRIBUTES
from facedit.models.classifier import AttributeClassifier, ClassifierConfig
from facedit.train.common import Run, epoch_batches, reached, to_tensor
from facedit.train.swap import pick_swaps, swap_eye_bands, swapped_targets

MALE = CELEBA_ATTRIBUTES.index("Male")


def targets(subset: PreparedSet) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """attr targets (N, 40) in {0, 1}, their mask (N, 40) of known labels, ages (N,) (-1 unknown)."""
    attrs = subset.attrs.astype(np.float32)
    known = attrs != 0
    y = (attrs > 0).astype(np.float32)
    utk = subset.gender >= 0
    y[utk, MALE] = (subset.gender[utk] == 0)
    known[utk, MALE] = True
    return y, known.astype(np.float32), subset.age


def train_classifier(cache: Path, run_dir: Path, minutes: float = 40.0, batch: int = 64,
                     lr: float = 2e-3, threads: int = 1, seed: int = 0,
                     max_steps: int | None = None, log_every: int = 20,
                     config: ClassifierConfig = ClassifierConfig(),
                     init: str | Path | None = None,
                     swap_rate: float = 0.0) -> AttributeClassifier:
    """Train the classifier within a time budget, resumably; `init` warm-starts a new run from
    another run's `state.pt`, a classifier folder or "builtin" (the shipped classifier; the
    convolutions do not depend on the input size or view);
    `swap_rate` is the share of CelebA faces that get an eye-band swap when a donor is in the
    batch."""
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    run = Run(run_dir, dict(kind="classifier", cache=str(cache), minutes=minutes, batch=batch,
                            lr=lr, threads=threads, seed=seed, config=config.to_dict(),
                            init=str(init) if init else None, swap_rate=swap_rate))
    train = PreparedSet.load(cache, "train", in_memory=True)
    val = PreparedSet.load(cache, "val", in_memory=True)
    y, known, age = targets(train)
    landmarked = has_landmarks(train.mesh)
    model = AttributeClassifier(config)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    state = run.load_state()
    epoch, step = 0, 0
    if state is None and init is not None:
        model.load_state_dict(initial_weights(init))
    if state:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optim"])
        epoch, step = int(state["epoch"]), int(state["step"])
    budget = minutes * 60
    while run.elapsed() < budget and not reached(step, max_steps):
        rng = np.random.default_rng(seed + epoch)
        model.train()
        bar = tqdm(epoch_batches(len(train), batch, rng), total=len(train) // batch,
                   desc=f"classifier epoch {epoch}", unit="batch")
        for idx in bar:
            frac = min(1.0, run.elapsed() / budget)
            for g in opt.param_groups:
                g["lr"] = lr * 0.5 * (1 + math.cos(math.pi * frac))
            images, y_batch, known_batch = train.images[idx], y[idx], known[idx]
            if swap_rate:
                recipients, donors = pick_swaps(train.attrs[idx], landmarked[idx], swap_rate, rng)
                images = swap_eye_bands(images, train.mesh[idx], recipients, donors)
                y_batch, known_batch = swapped_targets(y_batch, known_batch, recipients, donors)
            x = to_tensor(images, flip=rng.random(len(idx)) < 0.5)
            x = (x * torch.empty(len(idx), 1, 1, 1).uniform_(0.8, 1.2)).clamp_(0, 1)
            logits, pred_age = model(x)
            k = torch.from_numpy(known_batch)
            bce = (F.binary_cross_entropy_with_logits(logits, torch.from_numpy(y_batch),
                                                      reduction="none") * k).sum() / k.sum().clamp(min=1)
            a = torch.from_numpy(age[idx])
            has_age = a >= 0
            age_loss = (F.smooth_l1_loss((pred_age[has_age] - a[has_age]) / 20, torch.zeros(
                int(has_age.sum()))) if has_age.any() else torch.zeros(()))
            loss = bce + 0.5 * age_loss
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            if step % log_every == 0:
                run.log(step=step, epoch=epoch, bce=bce.item(), age=age_loss.item(),
                        lr=opt.param_groups[0]["lr"], elapsed=run.elapsed())
                bar.set_postfix(bce=f"{bce.item():.3f}", age=f"{age_loss.item():.3f}")
            run.checkpoint(model, opt, epoch, step)
            if run.elapsed() >= budget or reached(step, max_steps):
                break
        else:
            epoch += 1
        metrics = evaluate(model, val)
        run.log(step=step, epoch=epoch, val_mean_acc=metrics["mean_accuracy"],
                val_age_mae=metrics["age_mae"], elapsed=run.elapsed())
        run.checkpoint(model, opt, epoch, step, force=True)
    return model.eval()


def initial_weights(init: str | Path) -> dict[str, torch.Tensor]:
    """The weights a run warm-starts from: a run's `state.pt`, or a classifier folder
    ("builtin": the shipped one)."""
    from facedit.models import model_folder
    from facedit.models.store import load_model

    if Path(init).is_file():
        return torch.load(init, map_location="cpu", weights_only=True)["model"]
    return load_model(model_folder("classifier", str(init)), AttributeClassifier,
                      ClassifierConfig).state_dict()


@torch.no_grad()
def predict(model: AttributeClassifier, images: np.ndarray, batch: int = 256):
    """Probabilities (N, 40) and ages (N,) for (N, S, S, 3) uint8 crops."""
    model.eval()
    probs, ages = [], []
    for i in range(0, len(images), batch):
        logits, age = model(to_tensor(images[i:i + batch]))
        probs.append(torch.sigmoid(logits).numpy())
        ages.append(age.numpy())
    return np.concatenate(probs), np.concatenate(ages)


def evaluate(model: AttributeClassifier, subset: PreparedSet) -> dict:
    """Per-attribute accuracy on CelebA rows, mean accuracy, and age MAE on UTKFace rows."""
    probs, ages = predict(model, subset.images)
    celeba = subset.attrs[:, 0] != 0
    acc = {}
    for j, name in enumerate(CELEBA_ATTRIBUTES):
        truth = subset.attrs[celeba, j] > 0
        acc[name] = float(((probs[celeba, j] > 0.5) == truth).mean()) if celeba.any() else float("nan")
    utk = subset.age >= 0
    mae = float(np.abs(ages[utk] - subset.age[utk]).mean()) if utk.any() else float("nan")
    return {"accuracy": acc, "mean_accuracy": float(np.mean(list(acc.values()))), "age_mae": mae,
            "celeba_images": int(celeba.sum()), "utkface_images": int(utk.sum())}
