"""Measures of an edit (SPEC §5), as small pure array functions.

* `success_rate` - share of edits after which a judge says the target value holds;
* `flip_rates` - per attribute, share of edits whose decision at 0.5 changed (non-target
  preservation; leave the target's column out at the call site);
* `psnr`, `ssim_masked` - pixel preservation, optionally only where a mask is set (outside the
  edited region, the background);
* `seam_score` - gradient energy on the blend's transition band against a ring around it (a seam
  or halo makes it large);
* `region_features` + `FeatureSpace` + `frechet_distance` + `realism_ratio` - realism of the
  edited region as a distribution distance to real faces that have the attribute. The features
  (HOG, colour layout, colour and sharpness statistics) are deliberately *not* the judge's
  classifier: the editor calibrates its strengths against that classifier, so it would be fooled
  first (SPEC §6, lesson 2).

Images are (H, W, 3) RGB arrays in 0..255 unless a docstring says otherwise.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np

from facedit.errors import ShapeError

FEATURE_SIZE = (32, 64)  # (H, W) the region's bounding box is resized to
LAYOUT_SIZE = (4, 8)  # (H, W) of the Lab colour-layout thumbnail
HOG_CELL = 8


def _probs(p, name: str, ndim: int) -> np.ndarray:
    a = np.asarray(p, dtype=np.float64)
    if a.ndim != ndim:
        raise ShapeError(f"{name}: expected {ndim} dimensions, got shape {a.shape}")
    return a


def success_rate(probs_after: np.ndarray, target_on: bool, threshold: float = 0.5) -> float:
    """Share of edits the judge reads as having reached the target.

    Args:
        probs_after: (N,) the judge's probability of the target attribute after each edit; NaN
            (e.g. no face found in the output) counts as a failure.
        target_on: True if the edit adds the attribute (success: p >= threshold), False if it
            removes it (success: p < threshold).
    Returns:
        A share in [0, 1]; NaN for N = 0.
    """
    p = _probs(probs_after, "probs_after", 1)
    if len(p) == 0:
        return float("nan")
    hit = p >= threshold if target_on else p < threshold  # NaN compares False both ways
    return float(hit.mean())


def flip_rates(probs_before: np.ndarray, probs_after: np.ndarray,
               threshold: float = 0.5) -> np.ndarray:
    """Per attribute, the share of edits whose decision (p >= threshold) changed.

    Args:
        probs_before, probs_after: (N, K) probabilities of the same N faces before and after.
            Rows with a NaN in either are left out.
    Returns:
        (K,) shares in [0, 1] (NaN where no row is usable).
    """
    pair = _paired_rows(probs_before, probs_after)
    if pair is None:
        return np.full(np.shape(probs_before)[1], np.nan)
    b, a = pair
    return ((b >= threshold) != (a >= threshold)).mean(axis=0)


def _paired_rows(probs_before, probs_after) -> tuple[np.ndarray, np.ndarray] | None:
    """The (N, K) before/after probabilities, checked alike, without the rows that have a NaN
    in either; None when no row is left."""
    b = _probs(probs_before, "probs_before", 2)
    a = _probs(probs_after, "probs_after", 2)
    if a.shape != b.shape:
        raise ShapeError(f"probs_after: expected shape {b.shape} (as probs_before), got {a.shape}")
    ok = ~(np.isnan(a).any(axis=1) | np.isnan(b).any(axis=1))
    return (b[ok], a[ok]) if ok.any() else None


def _same_images(a, b) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if x.shape != y.shape or x.ndim not in (2, 3):
        raise ShapeError(f"images: expected two (H, W) or (H, W, C) arrays of one shape, got "
                         f"{x.shape} and {y.shape}")
    return x, y


def _mask(mask, shape: tuple[int, ...]) -> np.ndarray:
    m = np.asarray(mask)
    if m.shape != tuple(shape[:2]):
        raise ShapeError(f"mask: expected shape {tuple(shape[:2])}, got {m.shape}")
    return m.astype(bool)


def psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None,
         data_range: float = 255.0) -> float:
    """Peak signal-to-noise ratio in dB between two images, over the pixels where `mask` is set.

    Args:
        a, b: (H, W) or (H, W, C) images of one shape, values in 0..data_range.
        mask: optional (H, W) bool (or 0/1), the pixels to compare; all pixels by default.
    Returns:
        dB; inf where the compared pixels are identical, NaN when the mask selects none.
    """
    x, y = _same_images(a, b)
    if mask is not None:
        m = _mask(mask, x.shape)
        x, y = x[m], y[m]
    if x.size == 0:
        return float("nan")
    mse = float(np.mean((x - y) ** 2))
    return float("inf") if mse == 0 else float(10 * np.log10(data_range ** 2 / mse))


def ssim_masked(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None,
                data_range: float = 255.0) -> float:
    """Mean structural similarity (skimage's 7x7 SSIM map) over the pixels where `mask` is set.

    a, b: (H, W) or (H, W, 3) images of one shape; mask: optional (H, W) bool. Returns a value
    in [-1, 1], 1 for identical images; NaN when the mask selects no pixel.
    """
    from skimage.metrics import structural_similarity

    x, y = _same_images(a, b)
    _, full = structural_similarity(x, y, data_range=data_range, full=True,
                                    channel_axis=-1 if x.ndim == 3 else None)
    smap = full.mean(axis=-1) if full.ndim == 3 else full
    m = np.ones(smap.shape, bool) if mask is None else _mask(mask, x.shape)
    return float(smap[m].mean()) if m.any() else float("nan")


def seam_score(image: np.ndarray, weight: np.ndarray, width: int = 2, ring: int = 8) -> float:
    """How much the blend boundary stands out: the mean gradient energy on the band where the
    blend weight changes (widened by `width` px) over the mean on a `ring` px ring around it.

    About 1 where the boundary is invisible; a hard seam, halo or colour step makes it larger.
    Compare the output's score with the input's score under the same `weight` (natural edges can
    run along the boundary).

    Args:
        image: (H, W) or (H, W, C), values 0..255.
        weight: (H, W) blend weight in [0, 1] (a hard 0/1 mask works too).
    Returns:
        The ratio (>= 0); NaN if the weight is constant (no boundary).
    """
    img = np.asarray(image, np.float32)
    w = np.asarray(weight, np.float32)
    if img.ndim not in (2, 3) or w.shape != img.shape[:2]:
        raise ShapeError(f"weight: expected shape {img.shape[:2]} (the image's), got {w.shape}")
    k3 = np.ones((3, 3), np.uint8)
    transition = (cv2.dilate(w, k3) - cv2.erode(w, k3)) > 1e-6
    if not transition.any():
        return float("nan")
    band = _grow(transition, width)
    around = _grow(band, ring) & ~band
    img = img[:, :, None] if img.ndim == 2 else img
    energy = sum(cv2.Sobel(img[:, :, c], cv2.CV_32F, 1, 0) ** 2
                 + cv2.Sobel(img[:, :, c], cv2.CV_32F, 0, 1) ** 2 for c in range(img.shape[2]))
    # The small floor keeps a flat ring from turning a faint band into an infinite score.
    return float(energy[band].mean() / (energy[around].mean() + 1.0)) if around.any() \
        else float("nan")


def _grow(mask: np.ndarray, pixels: int) -> np.ndarray:
    if pixels <= 0:
        return mask
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * pixels + 1, 2 * pixels + 1))
    return cv2.dilate(mask.astype(np.uint8), kernel).astype(bool)


def frechet_distance(feats_a: np.ndarray, feats_b: np.ndarray,
                     weights_b: np.ndarray | None = None) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (as in FID):
    |mu_a - mu_b|^2 + tr(C_a + C_b - 2 (C_a C_b)^(1/2)).

    Args:
        feats_a: (N, D), feats_b: (M, D), N, M >= 2.
        weights_b: (M,) non-negative weights of b's rows for its mean and covariance (e.g.
            `matching_weights`); None weighs them equally.
    Returns:
        A distance >= 0 (tiny negative rounding is clipped to 0).
    """
    from scipy.linalg import sqrtm

    a, b = np.asarray(feats_a, np.float64), np.asarray(feats_b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
        raise ShapeError(f"feats: expected (N, D) and (M, D) with N, M >= 2, got {a.shape} and "
                         f"{b.shape}")
    if weights_b is not None:
        weights_b = np.asarray(weights_b, np.float64)
        if weights_b.shape != (len(b),) or not np.all(weights_b >= 0) or weights_b.sum() <= 0:
            raise ShapeError(f"weights_b: expected ({len(b)},) non-negative weights, not all "
                             f"zero, got shape {weights_b.shape}")
    mu = a.mean(axis=0) - np.average(b, axis=0, weights=weights_b)
    ca = np.atleast_2d(np.cov(a, rowvar=False))
    cb = np.atleast_2d(np.cov(b, rowvar=False, aweights=weights_b))
    covmean = sqrtm(ca @ cb)
    if not np.isfinite(covmean).all():
        # Singular product (fewer samples than dimensions): nudge both covariances, as FID does.
        eps = 1e-6 * np.eye(len(ca))
        covmean = sqrtm((ca + eps) @ (cb + eps))
    d = mu @ mu + np.trace(ca) + np.trace(cb) - 2 * np.trace(np.real(covmean))
    return float(max(d, 0.0))


def matching_weights(traits_ref: np.ndarray, traits_target: np.ndarray,
                     clip: float = 10.0) -> np.ndarray:
    """Weights for the reference rows that give them the target rows' mix of traits (inverse
    propensity weighting): a logistic regression tells target rows from reference rows by their
    traits, and each reference row weighs its odds of being a target row. Normalised to mean 1
    and clipped at `clip` times the mean, so a few rare rows cannot carry the whole set.

    Why: real faces that have an attribute differ from those without it in more than it (CelebA's
    faces with eyeglasses are 75% men, those without 35%); an edit that keeps the person's sex
    should be compared with real faces of the same mix.

    Args:
        traits_ref: (M, T), traits_target: (N, T) binary (0/1) traits, e.g. CelebA labels.
    Returns:
        (M,) float64 weights; all ones when there is nothing to match (no traits, or one set
        has a single row).
    """
    from sklearn.linear_model import LogisticRegression

    ref = np.asarray(traits_ref, np.float64)
    tgt = np.asarray(traits_target, np.float64)
    if ref.ndim != 2 or tgt.ndim != 2 or ref.shape[1] != tgt.shape[1]:
        raise ShapeError(f"traits: expected (M, T) and (N, T), got {ref.shape} and {tgt.shape}")
    if ref.shape[1] == 0 or min(len(ref), len(tgt)) < 2:
        return np.ones(len(ref))
    x = np.concatenate([ref, tgt])
    y = np.r_[np.zeros(len(ref)), np.ones(len(tgt))]
    model = LogisticRegression(C=1.0, max_iter=1000).fit(x, y)
    p = np.clip(model.predict_proba(ref)[:, 1], 1e-6, 1 - 1e-6)
    w = p / (1 - p)
    w /= w.mean()
    w = np.minimum(w, clip)
    return w / w.mean()


def effective_count(weights: np.ndarray) -> float:
    """Kish's effective sample size of weighted rows: (sum w)^2 / sum w^2."""
    w = np.asarray(weights, np.float64)
    return float(w.sum() ** 2 / (w ** 2).sum()) if len(w) and (w ** 2).sum() > 0 else 0.0


def realism_ratio(fd_outputs_vs_real: float, fd_inputs_vs_real: float) -> float:
    """FD(edited outputs, real faces with the attribute) / FD(inputs, the same real faces).

    Below 1: the edit brought the region closer to real faces that have the attribute; about 1:
    no closer than the unedited inputs; above 1: further away (blur, smudges, artefacts)."""
    if fd_inputs_vs_real <= 0:
        return float("nan")
    return float(fd_outputs_vs_real) / float(fd_inputs_vs_real)


# -- region features ---------------------------------------------------------------------------

def feature_groups(size: tuple[int, int] = FEATURE_SIZE) -> tuple[int, int, int]:
    """Lengths of the three groups of `region_features`: HOG, Lab layout, statistics."""
    cells = (size[0] // HOG_CELL - 1) * (size[1] // HOG_CELL - 1)
    return cells * 4 * 9, LAYOUT_SIZE[0] * LAYOUT_SIZE[1] * 3, 8


def region_features(crops: np.ndarray, faces: Sequence, region: str,
                    size: tuple[int, int] = FEATURE_SIZE) -> np.ndarray:
    """Features of one face region that no part of the editor optimises against.

    The bounding box of the region (padded by 10%) is resized to `size`; its features are the HOG
    of the grey patch (shape and edges), a 4x8 Lab thumbnail (colour layout), and inside the
    region the Lab mean and standard deviation plus two sharpness measures (mean gradient
    magnitude, standard deviation of the Laplacian), which catch colour shifts and blur.

    Args:
        crops: (B, S, S, 3) uint8 RGB aligned crops.
        faces: B `facedit.faces.Face`, each in its crop's pixels (e.g. `AlignedFace.face`).
        region: a `facedit.masks` region name (e.g. "mouth_area", "eye_band").
        size: (H, W) of the resized box, multiples of 8.
    Returns:
        (B, F) float64, F = sum(feature_groups(size)); a row of NaN where the region is empty
        (it can be, on a face turned far to the side).
    """
    from skimage.feature import hog

    from facedit.masks import region_mask

    crops = np.asarray(crops)
    if crops.ndim != 4 or crops.shape[3] != 3 or crops.shape[1] != crops.shape[2]:
        raise ShapeError(f"crops: expected (B, S, S, 3), got {crops.shape}")
    if len(faces) != len(crops):
        raise ShapeError(f"faces: expected {len(crops)} (one per crop), got {len(faces)}")
    out = []
    for crop, face in zip(crops, faces):
        mask = region_mask(face, region, crop.shape[:2])
        if not (mask > 0.5).any():
            out.append(np.full(sum(feature_groups(size)), np.nan))
            continue
        patch, pmask = _box(crop, mask, size)
        grey = cv2.cvtColor(patch, cv2.COLOR_RGB2GRAY).astype(np.float32)
        lab = cv2.cvtColor(patch, cv2.COLOR_RGB2LAB).astype(np.float32)
        hog_f = hog(grey, orientations=9, pixels_per_cell=(HOG_CELL, HOG_CELL),
                    cells_per_block=(2, 2), feature_vector=True)
        layout = cv2.resize(lab, LAYOUT_SIZE[::-1], interpolation=cv2.INTER_AREA).ravel()
        inside = pmask > 0.5 if (pmask > 0.5).any() else np.ones(pmask.shape, bool)  # tiny region
        grad = np.hypot(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))
        lap = cv2.Laplacian(grey, cv2.CV_32F)
        stats = np.concatenate([lab[inside].mean(axis=0), lab[inside].std(axis=0),
                                [grad[inside].mean(), lap[inside].std()]])
        out.append(np.concatenate([hog_f, layout, stats]))
    return np.asarray(out, np.float64).reshape(len(crops), sum(feature_groups(size)))


def _box(crop: np.ndarray, mask: np.ndarray, size: tuple[int, int]):
    """The padded bounding box of `mask` cut from `crop`, both resized to `size` (H, W)."""
    ys, xs = np.nonzero(mask > 0.5)
    s = crop.shape[0]
    pad_y, pad_x = 0.1 * (ys.max() - ys.min() + 1), 0.1 * (xs.max() - xs.min() + 1)
    y0, y1 = int(max(0, ys.min() - pad_y)), int(min(s, ys.max() + 1 + pad_y))
    x0, x1 = int(max(0, xs.min() - pad_x)), int(min(s, xs.max() + 1 + pad_x))
    dsize = (size[1], size[0])
    shrink = (y1 - y0) > size[0] and (x1 - x0) > size[1]
    interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    return (cv2.resize(np.ascontiguousarray(crop[y0:y1, x0:x1]), dsize, interpolation=interp),
            cv2.resize(mask[y0:y1, x0:x1].astype(np.float32), dsize, interpolation=interp))


@dataclass
class FeatureSpace:
    """Standardised features, each group weighted equally, projected on the first principal
    axes of a set of real faces. Fit on real faces only; then `transform` real and edited ones
    alike before `frechet_distance`.

    Example:
        >>> space = FeatureSpace.fit(real_feats, dims=32)            # doctest: +SKIP
        >>> fd = frechet_distance(space(edited_feats), space(real_feats))  # doctest: +SKIP
    """

    mean: np.ndarray  # (F,)
    scale: np.ndarray  # (F,) standard deviation / group weight
    pca: object  # sklearn.decomposition.PCA

    @classmethod
    def fit(cls, feats: np.ndarray, dims: int = 32,
            groups: Sequence[int] | None = None) -> "FeatureSpace":
        """feats: (N, F) real faces' features; groups: lengths of feature groups that get equal
        total weight (default: `feature_groups()` when F matches it, else one group)."""
        from sklearn.decomposition import PCA

        x = np.asarray(feats, np.float64)
        if x.ndim != 2 or len(x) < 3:
            raise ShapeError(f"feats: expected (N, F) with N >= 3, got {x.shape}")
        if groups is None:
            groups = feature_groups() if x.shape[1] == sum(feature_groups()) else (x.shape[1],)
        if sum(groups) != x.shape[1]:
            raise ShapeError(f"groups: lengths sum to {sum(groups)}, features have {x.shape[1]}")
        std = x.std(axis=0)
        std[std < 1e-8] = 1.0
        weight = np.concatenate([np.full(n, 1 / np.sqrt(n)) for n in groups])
        scale = std / weight
        pca = PCA(n_components=min(dims, len(x) - 1, x.shape[1]), random_state=0)
        pca.fit((x - x.mean(axis=0)) / scale)
        return cls(x.mean(axis=0), scale, pca)

    def __call__(self, feats: np.ndarray) -> np.ndarray:
        """(N, F) -> (N, dims)."""
        x = np.asarray(feats, np.float64)
        if x.ndim != 2 or x.shape[1] != len(self.mean):
            raise ShapeError(f"feats: expected (N, {len(self.mean)}), got {x.shape}")
        return self.pca.transform((x - self.mean) / self.scale)


def asymmetry(image: np.ndarray, mask: np.ndarray | None = None) -> float:
    """How far an aligned face is from its left-right mirror image: the mean absolute grey-level
    difference between the image and its horizontal flip, over `mask` united with its mirror.

    A face morphed halfway into its mirror image is symmetric (about 0); an unedited face keeps
    its own value, so the ratio output / input measures a mirror edit.

    Args:
        image: (H, W) or (H, W, 3) 0..255, the face centred (facedit's canonical crop).
        mask: optional (H, W) bool, the pixels to compare (e.g. the face region).
    Returns:
        Grey levels >= 0; NaN when the mask selects no pixel.
    """
    img = np.asarray(image, np.float32)
    if img.ndim not in (2, 3):
        raise ShapeError(f"image: expected (H, W) or (H, W, C), got {img.shape}")
    grey = img.mean(axis=2) if img.ndim == 3 else img
    m = np.ones(grey.shape, bool) if mask is None else _mask(mask, grey.shape)
    m = m | m[:, ::-1]
    return float(np.abs(grey - grey[:, ::-1])[m].mean()) if m.any() else float("nan")


def attribute_dependency(probs_before: np.ndarray, probs_after: np.ndarray,
                         eps: float = 1e-4) -> np.ndarray:
    """StyleSpace's attribute dependency: per attribute, the mean absolute change of its logit,
    in standard deviations of that logit over the inputs.

    Args:
        probs_before, probs_after: (N, K) probabilities; rows with a NaN are left out.
    Returns:
        (K,) >= 0 (NaN where no row is usable); 0 for unchanged probabilities.
    """
    pair = _paired_rows(probs_before, probs_after)
    if pair is None:
        return np.full(np.shape(probs_before)[1], np.nan)
    logit = lambda p: np.log(np.clip(p, eps, 1 - eps) / np.clip(1 - p, eps, 1 - eps))  # noqa: E731
    lb, la = (logit(x) for x in pair)
    sd = lb.std(axis=0)
    sd[sd < 1e-6] = 1.0  # an attribute read the same on every input: its change in logits
    return np.abs(la - lb).mean(axis=0) / sd
