"""Eye-band swaps for the classifier's training (facedit.train.swap)."""
import numpy as np

from facedit.data.sources import CELEBA_ATTRIBUTES
from facedit.train.swap import (BAND_ATTRIBUTES, EYEGLASSES, band_weight, pick_swaps,
                                swap_eye_bands, swapped_targets)

MALE, YOUNG = CELEBA_ATTRIBUTES.index("Male"), CELEBA_ATTRIBUTES.index("Young")


def _attrs(glasses, male, young):
    attrs = -np.ones((len(glasses), 40), np.int8)
    attrs[:, EYEGLASSES], attrs[:, MALE], attrs[:, YOUNG] = glasses, male, young
    return attrs


def test_donors_have_the_other_eyeglasses_label_and_the_same_sex_and_age_group():
    attrs = _attrs(glasses=[-1, -1, 1, 1, -1, 1], male=[1, -1, 1, -1, 1, 1],
                   young=[1, 1, 1, 1, -1, -1])
    attrs = np.concatenate([attrs, np.zeros((1, 40), np.int8)])  # a UTKFace row: never picked
    recipients, donors = pick_swaps(attrs, np.ones(len(attrs), bool), 1.0,
                                    np.random.default_rng(0))
    assert set(recipients) == {0, 1, 2, 3, 4, 5}  # each has a match
    assert (attrs[recipients, EYEGLASSES] == -attrs[donors, EYEGLASSES]).all()
    assert (attrs[recipients][:, [MALE, YOUNG]] == attrs[donors][:, [MALE, YOUNG]]).all()
    none, _ = pick_swaps(attrs, np.ones(len(attrs), bool), 0.0, np.random.default_rng(0))
    assert len(none) == 0
    unlandmarked, _ = pick_swaps(attrs, np.zeros(len(attrs), bool), 1.0, np.random.default_rng(0))
    assert len(unlandmarked) == 0


def test_a_swap_replaces_the_eye_band_only(astronaut_aligned):
    crop, points = astronaut_aligned.crop, astronaut_aligned.face.mesh[:, :2]
    size = crop.shape[0]
    donor = np.full_like(crop, 255)
    images, mesh = np.stack([crop, donor]), np.stack([points, points])
    out = swap_eye_bands(images, mesh, np.array([0]), np.array([1]))
    weight = band_weight(points, size, 4.0)
    assert (out[1] == donor).all() and (images[0] == crop).all()  # inputs untouched
    assert (out[0][weight >= 1] == 255).all()  # the band is the donor's
    assert (out[0][weight == 0] == crop[weight == 0]).all()  # everything else the recipient's
    eyes_y = points[[33, 263], 1].mean()
    assert weight[int(eyes_y), size // 2] == 1 and weight[int(0.9 * size), size // 2] == 0


def test_swapped_targets_take_eyeglasses_from_the_donor_and_forget_the_band():
    y = np.zeros((3, 40), np.float32)
    y[1, EYEGLASSES] = 1
    y[0, YOUNG] = 1
    known = np.ones((3, 40), np.float32)
    y2, k2 = swapped_targets(y, known, np.array([0]), np.array([1]))
    assert y2[0, EYEGLASSES] == 1 and y2[0, YOUNG] == 1  # the recipient's age stays
    assert (k2[0, list(BAND_ATTRIBUTES)] == 0).all() and k2[0].sum() == 40 - len(BAND_ATTRIBUTES)
    assert (y[0, EYEGLASSES] == 0) and (k2[1:] == 1).all()  # inputs and other rows untouched


def test_classifier_training_swaps_eye_bands_when_asked(astronaut_aligned, tmp_path, monkeypatch):
    import json

    import cv2

    import facedit.train.classifier as training
    from facedit.data.dataset import SPLITS
    from facedit.models.classifier import ClassifierConfig

    n, size = 24, 32
    crop = cv2.resize(astronaut_aligned.crop, (size, size), interpolation=cv2.INTER_AREA)
    scale = size / astronaut_aligned.crop.shape[0]
    np.save(tmp_path / "images.npy", np.repeat(crop[None], n, axis=0))
    np.save(tmp_path / "mesh.npy", np.repeat(
        (astronaut_aligned.face.mesh[None, :, :2] * scale).astype(np.float16), n, axis=0))
    attrs = _attrs(glasses=[1, -1] * (n // 2), male=[-1] * n, young=[1] * n)
    np.savez(tmp_path / "labels.npz", attrs=attrs, age=np.full(n, -1, np.float32),
             gender=np.full(n, -1, np.int8), race=np.full(n, -1, np.int8),
             split=np.zeros(n, np.int8), source=np.array(["celeba_aligned"] * n),
             name=np.array([f"{i}.jpg" for i in range(n)]))
    (tmp_path / "summary.json").write_text(json.dumps({"size": size, "kept": n}))
    assert SPLITS[0] == "train"
    swapped = []
    real_swap = training.swap_eye_bands
    monkeypatch.setattr(training, "swap_eye_bands",
                        lambda images, mesh, r, d: swapped.append(len(r)) or real_swap(
                            images, mesh, r, d))
    monkeypatch.setattr(training, "evaluate", lambda model, subset: {
        "mean_accuracy": 0.0, "age_mae": 0.0})  # no validation rows in this set
    run = tmp_path / "run"
    training.train_classifier(tmp_path, run, minutes=10, batch=8, max_steps=3,
                              config=ClassifierConfig(input_size=32, channels=(8, 8, 8, 8)),
                              swap_rate=1.0)
    assert len(swapped) == 3 and min(swapped) > 0
    assert json.loads((run / "options.json").read_text())["swap_rate"] == 1.0
