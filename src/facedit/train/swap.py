"""Counterfactual eye-band swaps: teach the attribute classifier that eyeglasses say nothing about
the rest of the face.

In CelebA, people photographed in eyeglasses are mostly older men without make-up (labelled Young
on 39% of them against 80% of the others, Wearing_Lipstick on 11% against 54%). A classifier
trained on those photos learns the shortcut: shown a face with eyeglasses drawn on and not one
other pixel changed, it reads the face as older, more male and without lipstick
(`benchmarks/same_person_flips.py` measures the same on real photos of one person). As the judge
of edits it then reports those flips against the editor.

A swap pastes the eye band (brows, eyes, temples: `facedit.masks`' "eye_band" region, feathered)
of a donor onto a recipient of the same sex and age group whose Eyeglasses label is the other
one: the result keeps every label of the recipient except Eyeglasses, which is the donor's, and
the band's own attributes (brows, bags, narrow eyes), which become unknown. Swaps run both ways
(on and off), so a pasted band does not itself predict eyeglasses.
"""
from __future__ import annotations

import numpy as np

from facedit.data.sources import CELEBA_ATTRIBUTES
from facedit.faces import Face
from facedit.masks import feather, region_mask

EYEGLASSES = CELEBA_ATTRIBUTES.index("Eyeglasses")
# Donor and recipient agree on these, so the swap changes none of them.
MATCHED = tuple(CELEBA_ATTRIBUTES.index(n) for n in ("Male", "Young"))
# Drawn by the band itself: after a swap, neither face's label holds.
BAND_ATTRIBUTES = tuple(CELEBA_ATTRIBUTES.index(n) for n in
                        ("Arched_Eyebrows", "Bags_Under_Eyes", "Bushy_Eyebrows", "Narrow_Eyes"))


def pick_swaps(attrs: np.ndarray, landmarked: np.ndarray, rate: float,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Recipients and their donors within one batch.

    Args:
        attrs: (B, 40) CelebA labels +1 / -1 / 0 (rows of other sources are all 0).
        landmarked: (B,) bool, rows whose mesh is known.
        rate: the share of eligible rows that become recipients.
    Returns:
        recipients, donors: (K,) row indices; each donor has the other Eyeglasses label and the
        same `MATCHED` labels as its recipient.
    """
    attrs = np.asarray(attrs)
    usable = landmarked & (attrs[:, EYEGLASSES] != 0) & (attrs[:, list(MATCHED)] != 0).all(axis=1)
    recipients, donors = [], []
    for r in np.flatnonzero(usable & (rng.random(len(attrs)) < rate)):
        match = usable & (attrs[:, EYEGLASSES] == -attrs[r, EYEGLASSES]) \
            & (attrs[:, list(MATCHED)] == attrs[r, list(MATCHED)]).all(axis=1)
        candidates = np.flatnonzero(match)
        if len(candidates):
            recipients.append(r)
            donors.append(rng.choice(candidates))
    return np.array(recipients, int), np.array(donors, int)


def band_weight(points: np.ndarray, size: int, margin: float) -> np.ndarray:
    """The feathered eye band of a face's (478, 2) crop landmarks, (size, size) float32."""
    return feather(region_mask(Face.from_points(points), "eye_band", (size, size)), margin)


def swap_eye_bands(images: np.ndarray, mesh: np.ndarray, recipients: np.ndarray,
                   donors: np.ndarray, margin: float = 4.0) -> np.ndarray:
    """A copy of `images` (B, S, S, 3) uint8 with each recipient's eye band replaced by its
    donor's, under the union of both faces' bands (so both pairs of eyeglasses are covered)."""
    out = np.array(images, copy=True)
    size = images.shape[1]
    # A donor often serves several recipients: each row's band is drawn once.
    band = {i: band_weight(mesh[i], size, margin) for i in {*recipients, *donors}}
    for r, d in zip(recipients, donors):
        w = np.maximum(band[r], band[d])[..., None]
        out[r] = np.rint(images[r] * (1 - w) + images[d] * w).astype(np.uint8)
    return out


def swapped_targets(y: np.ndarray, known: np.ndarray, recipients: np.ndarray,
                    donors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Targets (B, 40) {0, 1} and their mask after the swaps: Eyeglasses from the donor, the
    band's attributes unknown, the rest the recipient's."""
    y, known = y.copy(), known.copy()
    y[recipients, EYEGLASSES] = y[donors, EYEGLASSES]
    known[np.ix_(recipients, BAND_ATTRIBUTES)] = 0
    return y, known
