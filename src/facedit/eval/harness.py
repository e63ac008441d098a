"""One evaluation of edits (SPEC §5): every method on every photo of every task, measured the
same way, summarised per task and method.

For each input photo: load, detect + align, encode (once, timed); for each method: edit (timed by
stage), then the OUTPUT photo is detected and aligned again, as a user's next tool would see it,
and measured:

* success - the judge reads the target on the re-aligned output (mirror: the face's asymmetry at
  most halved); the judge is facedit's classifier, which the editor calibrates against, so the
  figure flatters: read it with realism and the grids (SPEC §6, lesson 2);
* probe success - with `probe_data`, a second judge the editor never sees reads the same crops: a
  logistic regression on region features of the task's region, trained on that prepared set
  (`facedit.eval.probe`; not for mirror);
* preservation - every other attribute's probability: mean absolute change, flip rate, and
  StyleSpace's attribute dependency (logit change in standard deviations);
* identity - cosine similarity of face-recognition embeddings of input and output (optional
  extra; `facedit.eval.identity`);
* locality - PSNR / SSIM of the photo outside the edited region and on the background (outside
  the default paste mask), seam score on the method's own blend boundary (output over input);
* realism - Fréchet distance of the edited region's features to real photos that have the
  target value, over that of the inputs (`facedit.eval.metrics`);
* speed - seconds per stage (align, encode, edit, blend, paste) and the process's peak memory.

A strength curve per task and method (the judge's mean reading over a range of strengths, on a
few photos at the input's alignment) shows whether the edit grows monotonically.
"""
from __future__ import annotations

import os
import platform
import resource
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from facedit.align import detect_and_align, warp_mask_to_photo, warp_to_crop
from facedit.errors import ConfigError, FaceditError, NoFaceError
from facedit.eval.identity import DLIB_SAME_PERSON, cosine_similarity, load_identity
from facedit.eval.methods import MethodOutput, get_methods, strengths_for
from facedit.eval.metrics import (FeatureSpace, asymmetry, attribute_dependency,
                                  effective_count, feature_groups, flip_rates, frechet_distance,
                                  matching_weights, psnr, realism_ratio, region_features,
                                  seam_score, ssim_masked, success_rate)
from facedit.eval.probe import Probe, train_probe
from facedit.eval.tasks import (ADD_TARGET, REMOVE_TARGET, Photo, Task, celeba_photos,
                                folder_photos, is_shared_data, parse_edits, select)
from facedit.masks import default_paste_mask, region_mask

THUMB = 128  # side of the thumbnails kept for the best / worst grids
MIRROR_SUCCESS = 0.5  # a mirror midpoint succeeds when it at most halves the face's asymmetry
FEATURE_DIMS = 32
# What real references are matched on before the realism ratio's "matched" figure: the traits an
# edit must keep (sex, age, facial hair, make-up, skin, accessories, expression). Not the ones an
# edit brings with it (a smile opens the mouth and lifts the cheeks).
MATCHED_TRAITS = ("Male", "Young", "No_Beard", "Mustache", "Heavy_Makeup", "Wearing_Lipstick",
                  "Pale_Skin", "Eyeglasses", "Smiling", "Wearing_Hat")
IDENTITY_HIST_LOW = 0.6  # the identity histogram's lower end (cosine similarity)
STAGES = ("align", "encode", "edit", "blend", "paste")


@dataclass(frozen=True)
class EvalConfig:
    """The options of one evaluation (saved in the report)."""

    edits: str = "smile+,eyeglasses,mirror"
    methods: tuple[str, ...] = ("facedit", "noblend", "baseline")
    model: str = "builtin"
    n: int = 300  # input photos per task, at most
    split: str = "test"  # CelebA split, when DATA is the shared data folder
    # The CelebA splits real references come from (people unseen in training, never edited) and
    # how many per task, at most: the realism ratio's Fréchet distances are biased up by a small
    # reference set (the report's `fd_real_half_vs_half` shows by how much).
    ref_splits: tuple[str, ...] = ("test", "val")
    refs: int = 1000
    seed: int = 0
    curve_photos: int = 16
    curve_points: int = 7
    identity: bool = True
    grid_rows: int = 6  # best and worst photos per task in the grids
    probe_data: str | None = None  # a prepared-set folder to train the independent probes on
    add_target: float = ADD_TARGET  # the judge's probability an addition aims for
    remove_target: float = REMOVE_TARGET  # ... and a removal

    def tasks(self) -> list[Task]:
        """The evaluated edits (`--edits`) with their targets. Raises ConfigError."""
        return parse_edits(self.edits, self.add_target, self.remove_target)


@dataclass
class Entry:
    """One photo, aligned and encoded once. probs: the judge on its crop (K,)."""

    name: str
    photo: np.ndarray
    face: object  # facedit.edit.EncodedFace
    probs: np.ndarray
    seconds: dict
    embedding: np.ndarray | None = None


@dataclass
class Measurement:
    """One method's edit of one photo for one task. Readings of the output are NaN when no face
    is found in it."""

    photo: str
    task: str
    method: str
    probs_before: np.ndarray
    probs_after: np.ndarray
    psnr_outside: float
    ssim_outside: float
    psnr_background: float
    seam_ratio: float
    seconds: dict
    info: dict
    thumb: np.ndarray  # the output at the input's framing, THUMB px
    input_thumb: np.ndarray  # the input's crop, THUMB px
    identity: float = float("nan")
    identity_distance: float = float("nan")
    asymmetry_before: float = float("nan")
    asymmetry_after: float = float("nan")
    feats: np.ndarray | None = None
    probe_before: float | None = None  # the probe's P(label) of the input; None: no probe
    probe_after: float | None = None  # ... of the output; NaN: no face or an empty region


class PhotoBank:
    """Photos loaded, aligned, encoded and judged once; unreadable or faceless ones are listed
    in `skipped` (name -> reason) instead of stopping the run."""

    def __init__(self, editor, identity=None):
        self.editor, self.identity = editor, identity
        self.entries: dict[Path, Entry] = {}
        self.skipped: dict[str, str] = {}

    def get(self, photo: Photo) -> Entry | None:
        from facedit.io import load_image

        if photo.path in self.entries:
            return self.entries[photo.path]
        if photo.path.name in self.skipped:
            return None
        editor = self.editor
        try:
            image = load_image(photo.path)
            t0 = time.perf_counter()
            aligned = detect_and_align(image, editor.detector, editor.blend_size,
                                       label=photo.path.name)[:1]
            t1 = time.perf_counter()
            face = editor.encode_aligned(aligned)[0]
            t2 = time.perf_counter()
        except FaceditError as exc:  # unreadable, too small, no face: reported, not fatal
            self.skipped[photo.path.name] = str(exc)
            return None
        entry = Entry(photo.path.name, image, face, judge_crops(editor, [face.aligned.crop])[0],
                      {"align": t1 - t0, "encode": t2 - t1})
        if self.identity is not None:
            entry.embedding = self.identity.embed(face.aligned.crop[None], [face.aligned.face])[0]
        self.entries[photo.path] = entry
        return entry


def judge_crops(editor, crops) -> np.ndarray:
    """The judge's probabilities (B, K) of blend-size crops, read at the model's size as the
    editor reads them."""
    s = editor.model.size
    small = np.stack([c if c.shape[0] == s else cv2.resize(c, (s, s), interpolation=cv2.INTER_AREA)
                      for c in crops])
    return editor.judge.score(small)[0]


def face_asymmetry(crop: np.ndarray, face) -> float:
    """`asymmetry` of an aligned crop inside its face region."""
    return asymmetry(crop, region_mask(face, "face", crop.shape[:2]) > 0.5)


def task_region(editor, task: Task) -> str:
    """The region whose realism a task is judged by."""
    return "face" if task.is_mirror else editor.attribute(task.attribute).regions[0]


# -- measuring one output ------------------------------------------------------------------------

def measure(editor, identity, task: Task, entry: Entry, method: str,
            out: MethodOutput, probe: Probe | None = None) -> Measurement:
    """All per-photo measures of one edited photo against its input; `probe`, when given, is
    read on the input's crop and the output's re-aligned crop, as the judge is."""
    photo, aligned, size = entry.photo, entry.face.aligned, editor.blend_size
    paste = warp_mask_to_photo(aligned, default_paste_mask(aligned.face, size))
    region = paste if task.is_mirror else \
        warp_mask_to_photo(aligned, editor.weight(entry.face, [task.attribute]))
    boundary = warp_mask_to_photo(aligned, out.boundary)
    seam_in = seam_score(photo, boundary)
    framed = warp_to_crop(out.photo, aligned.matrix, size)
    m = Measurement(
        photo=entry.name, task=task.name, method=method, probs_before=entry.probs,
        probs_after=np.full(len(entry.probs), np.nan),
        psnr_outside=psnr(photo, out.photo, region == 0),
        ssim_outside=ssim_masked(photo, out.photo, region == 0),
        psnr_background=psnr(photo, out.photo, paste == 0),
        seam_ratio=seam_score(out.photo, boundary) / seam_in if seam_in > 0 else float("nan"),
        seconds={**entry.seconds, **out.seconds}, info=out.info,
        thumb=_thumb(framed), input_thumb=_thumb(aligned.crop))
    if task.is_mirror:
        m.asymmetry_before = face_asymmetry(aligned.crop, aligned.face)
    if probe is not None:
        m.probe_before = float(probe(aligned.crop[None], [aligned.face])[0])
        m.probe_after = float("nan")
    try:
        again = detect_and_align(out.photo, editor.detector, size, label="output")[0]
    except NoFaceError:
        return m
    m.probs_after = judge_crops(editor, [again.crop])[0]
    if probe is not None:
        m.probe_after = float(probe(again.crop[None], [again.face])[0])
    m.feats = region_features(again.crop[None], [again.face], task_region(editor, task))[0]
    if task.is_mirror:
        m.asymmetry_after = face_asymmetry(again.crop, again.face)
    if identity is not None and entry.embedding is not None:
        emb = identity.embed(again.crop[None], [again.face])
        m.identity = float(cosine_similarity(entry.embedding[None], emb)[0])
        m.identity_distance = float(np.linalg.norm(entry.embedding - emb[0]))
    return m


def _thumb(crop: np.ndarray) -> np.ndarray:
    return cv2.resize(crop, (THUMB, THUMB), interpolation=cv2.INTER_AREA)


def progress(task: Task, m: Measurement, target: int | None) -> float:
    """How far one output got towards the task's target (higher is better; -inf without a face):
    the judge's target probability (its complement for a removal), or the share of asymmetry
    removed for mirror."""
    if task.is_mirror:
        gain = 1 - m.asymmetry_after / m.asymmetry_before if m.asymmetry_before > 0 else np.nan
        return float(gain) if np.isfinite(gain) else -np.inf
    p = m.probs_after[target]
    return -np.inf if np.isnan(p) else float(p if task.adds else 1 - p)


# -- summaries -----------------------------------------------------------------------------------

def summarise(task: Task, ms: list[Measurement], attributes: list[str], realism: dict | None,
              curve: dict | None, probe: Probe | None = None) -> dict:
    """The figures of one method on one task (with `probe_summary` under "probe" when the task
    has a probe)."""
    j = None if task.is_mirror else attributes.index(task.label)
    before = np.stack([m.probs_before for m in ms])
    after = np.stack([m.probs_after for m in ms])
    found = ~np.isnan(after).any(axis=1)
    others = [i for i in range(len(attributes)) if i != j]
    if task.is_mirror:
        asym_in = np.array([m.asymmetry_before for m in ms])
        asym_out = np.array([m.asymmetry_after for m in ms])
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = asym_out / asym_in
        success = float(np.mean(ratio <= MIRROR_SUCCESS))  # NaN (no face) counts as a failure
        target = {"asymmetry_ratio_median": _median(ratio)}
    else:
        success = success_rate(after[:, j], task.adds)
        target = {"judge_before_median": float(np.median(before[:, j])),
                  "judge_after_median": _median(after[:, j])}
    change = np.abs(after - before)[found][:, others]
    flips = flip_rates(before[:, others], after[:, others])
    dependency = attribute_dependency(before[:, others], after[:, others])
    worst = np.argsort(-np.nan_to_num(flips))[:5]
    names = [attributes[i] for i in others]
    if probe is not None:
        target["probe"] = probe_summary(probe, task, ms)
    return {
        "photos": len(ms), "face_found_in_output": int(found.sum()),
        "success_rate": success, **target,
        "preservation": {
            "mean_abs_change": _num(float(change.mean())) if len(change) else None,
            "flip_rate_mean": _num(np.nanmean(flips)), "flip_rate_max": _num(np.nanmax(flips)),
            "attribute_dependency": _num(np.nanmean(dependency)),
            "flip_rate_top5": {names[i]: _num(flips[i]) for i in worst},
            "per_attribute": {n: {"mean_abs_change": _num(float(change[:, k].mean()))
                                  if len(change) else None, "flip_rate": _num(flips[k])}
                              for k, n in enumerate(names)}},
        "identity": _identity_stats([m.identity for m in ms], [m.identity_distance for m in ms]),
        "locality": {"psnr_outside_region_db": _psnr_stats([m.psnr_outside for m in ms]),
                     "ssim_outside_region_median": _median([m.ssim_outside for m in ms]),
                     "psnr_background_db": _psnr_stats([m.psnr_background for m in ms]),
                     "seam_ratio_median": _median([m.seam_ratio for m in ms])},
        "realism": realism,
        "speed": _speed([m.seconds for m in ms]),
        "strength_curve": curve,
    }


def probe_summary(probe: Probe, task: Task, ms: list[Measurement]) -> dict:
    """The probe's figures of one method on one task: its success rate over every output (an
    output without a face, or with an empty region, reads NaN and counts as a failure, as in
    the judge's `success_rate`) and its mean P(label) of the inputs and of the outputs it read."""
    before = np.array([m.probe_before for m in ms], np.float64)
    after = np.array([m.probe_after for m in ms], np.float64)
    return {"label": probe.label, "region": probe.region,
            "val_balanced_accuracy": probe.val_balanced_accuracy,
            "success_rate": success_rate(after, task.adds),
            "before_mean": _mean(before), "after_mean": _mean(after)}


def realism_of(space: FeatureSpace | None, feats_out, feats_in, feats_ref,
               matched: dict | None = None) -> dict | None:
    """FD of outputs and inputs to the real references, their ratio and the references' own
    noise floor (two halves of them); None when there are too few faces to fit.

    matched: {"weights": (M,) reference weights (`matching_weights`), "on": trait names}; adds
    the same ratio (and its per-group breakdown) against references weighted to the inputs' mix
    of those traits, under "matched"."""
    out = _finite_rows(feats_out)
    if space is None or min(len(out), len(feats_in), len(feats_ref)) < 4:
        return None
    fd_out, fd_in = _fds_to_real(space, out, feats_in, feats_ref)
    result = {"fd_outputs_vs_real": fd_out, "fd_inputs_vs_real": fd_in,
              "ratio": _num(realism_ratio(fd_out, fd_in)), "real_faces": len(feats_ref),
              "fd_real_half_vs_half": frechet_distance(space(feats_ref[::2]),
                                                       space(feats_ref[1::2])),
              "ratio_by_group": realism_by_group(out, feats_in, feats_ref),
              "statistics": region_statistics(out, feats_in, feats_ref,
                                              None if matched is None else matched["weights"])}
    if matched is not None:
        w = matched["weights"]
        fd_out_m, fd_in_m = _fds_to_real(space, out, feats_in, feats_ref, w)
        result["matched"] = {"on": list(matched["on"]), "fd_outputs_vs_real": fd_out_m,
                             "fd_inputs_vs_real": fd_in_m,
                             "ratio": _num(realism_ratio(fd_out_m, fd_in_m)),
                             "effective_real_faces": round(effective_count(w), 1),
                             "ratio_by_group": realism_by_group(out, feats_in, feats_ref, w)}
    return result


REALISM_GROUPS = ("shape (HOG)", "colour layout", "colour and sharpness statistics")
REGION_STATISTICS = ("L mean", "a mean", "b mean", "L std", "a std", "b std", "gradient mean",
                     "laplacian std")


def realism_by_group(feats_out, feats_in, feats_ref, ref_weights=None) -> dict | None:
    """The realism ratio of each group of `region_features` on its own (each fitted and
    projected like the whole): which part of the region (its edges, its colours, its sharpness)
    takes the outputs away from real faces. None for features of another layout."""
    groups = feature_groups()
    if np.shape(feats_ref)[1] != sum(groups):
        return None
    out, ins, ref = (np.asarray(f, np.float64) for f in (feats_out, feats_in, feats_ref))
    ratios, start = {}, 0
    for name, width in zip(REALISM_GROUPS, groups):
        cols = slice(start, start + width)
        start += width
        space = FeatureSpace.fit(np.concatenate([ref[:, cols], ins[:, cols]]),
                                 dims=min(FEATURE_DIMS, width), groups=(width,))
        ratios[name] = _num(realism_ratio(*_fds_to_real(space, out[:, cols], ins[:, cols],
                                                        ref[:, cols], ref_weights)))
    return ratios


def region_statistics(feats_out, feats_in, feats_ref, ref_weights=None) -> dict | None:
    """The mean of each of the region's colour and sharpness statistics (the last group of
    `region_features`) over inputs, outputs and real references: which way an edit moves the
    region's colour or sharpness relative to real faces. With `ref_weights` (M,) the references'
    mean is weighted (`matching_weights`) and reported as "references (matched)" too. None for
    features of another layout."""
    if np.shape(feats_ref)[1] != sum(feature_groups()):
        return None
    width = feature_groups()[-1]
    means = {who: np.nanmean(np.asarray(f, np.float64)[:, -width:], axis=0)
             for who, f in (("inputs", feats_in), ("outputs", feats_out),
                            ("references", feats_ref))}
    if ref_weights is not None:
        ref = np.ma.masked_invalid(np.asarray(feats_ref, np.float64)[:, -width:])
        means["references (matched)"] = np.ma.average(ref, axis=0, weights=np.broadcast_to(
            np.asarray(ref_weights, np.float64)[:, None], ref.shape)).filled(np.nan)
    return {name: {who: round(float(m[i]), 3) for who, m in means.items()}
            for i, name in enumerate(REGION_STATISTICS)}


def _fds_to_real(space: FeatureSpace, feats_out, feats_in, feats_ref,
                 ref_weights=None) -> tuple[float, float]:
    """Fréchet distances of the outputs and of the inputs to the real faces (weighted by
    `ref_weights`, if given), in `space`."""
    real = space(feats_ref)
    return (frechet_distance(space(feats_out), real, ref_weights),
            frechet_distance(space(feats_in), real, ref_weights))


def _identity_stats(cos, dist) -> dict | None:
    c, d = np.array(cos, np.float64), np.array(dist, np.float64)
    ok = np.isfinite(c)
    if not ok.any():
        return None
    return {"cosine_mean": float(c[ok].mean()), "cosine_median": float(np.median(c[ok])),
            "cosine_p10": float(np.percentile(c[ok], 10)),
            "dlib_distance_median": float(np.median(d[ok])),
            "same_person_share": float(np.mean(d[ok] < DLIB_SAME_PERSON)),
            "measured": int(ok.sum()),
            "histogram": identity_histogram(c[ok])}


def identity_histogram(cos, low: float = IDENTITY_HIST_LOW, bins: int = 20) -> dict:
    """Counts of cosine similarities in `bins` bins over [low, 1] (face-recognition embeddings
    of faces are far from orthogonal even between people, so the range below is empty); values
    under `low` are counted apart."""
    c = np.asarray(cos, np.float64)
    hist, edges = np.histogram(np.clip(c, low, 1.0), bins=bins, range=(low, 1.0))
    hist[0] -= int(np.sum(c < low))
    return {"edges": [round(float(e), 3) for e in edges], "counts": [int(x) for x in hist],
            "below_range": int(np.sum(c < low))}


def _speed(seconds: list[dict]) -> dict:
    stages = [s for s in STAGES if any(s in d for d in seconds)]
    per = {s: float(np.median([d.get(s, 0.0) for d in seconds])) for s in stages}
    return {"median_seconds": per,
            "total_median_seconds": float(np.median([sum(d.values()) for d in seconds]))}


def _psnr_stats(values) -> dict:
    v = np.array(values, np.float64)
    finite = v[np.isfinite(v)]
    return {"share_identical": float(np.mean(np.isposinf(v))),
            "median": _median(v),
            "median_of_changed": _num(float(np.median(finite))) if len(finite) else None}


def _mean(values) -> float | None:
    """The mean of the non-NaN values (None when there is none)."""
    v = np.array(values, np.float64)
    v = v[~np.isnan(v)]
    return _num(v.mean()) if len(v) else None


def _median(values) -> float | None:
    """The median of the non-NaN values (None when there is none)."""
    v = np.array(values, np.float64)
    v = v[~np.isnan(v)]
    return _num(np.median(v)) if len(v) else None


def _finite_rows(x) -> np.ndarray:
    x = np.asarray([r for r in x if r is not None], np.float64)
    return x[np.isfinite(x).all(axis=1)] if x.ndim == 2 else np.zeros((0, 1))


def _num(x):
    """JSON has no inf or NaN: they are written as strings."""
    x = float(x)
    return x if np.isfinite(x) else str(x)


# -- strength curves -----------------------------------------------------------------------------

def strength_curve(editor, method, task: Task, entries: list[Entry], points: int) -> dict | None:
    """The judge's mean reading (mirror: the share of asymmetry removed) over a range of
    strengths, on `entries` at their own alignment, and whether it moves monotonically."""
    if not entries:
        return None
    strengths = strengths_for(task, points)
    j = None if task.is_mirror else list(editor.judge.attributes).index(task.label)
    scores = []
    for e in entries:
        crops = method.sweep(editor, task, e.face, strengths)
        if task.is_mirror:
            a0 = face_asymmetry(e.face.aligned.crop, e.face.aligned.face)
            scores.append([1 - face_asymmetry(c, e.face.aligned.face) / a0 for c in crops])
        else:
            scores.append(judge_crops(editor, list(crops))[:, j])
    s = np.asarray(scores, np.float64)
    mean = np.nanmean(s, axis=0)
    sign = 1.0 if task.is_mirror or task.adds else -1.0
    steps = np.diff(s * sign, axis=1)
    if task.is_mirror:
        hits = s >= MIRROR_SUCCESS
    else:
        hits = s >= 0.5 if task.adds else s < 0.5
    return {"strength": [round(float(x), 4) for x in strengths],
            "unit": "morph position t" if task.is_mirror else "raw step (class-mean gaps)",
            "score": "share of asymmetry removed" if task.is_mirror else
                     f"judge P({task.label})",
            "mean_score": [float(x) for x in mean],
            "success_rate": [float(x) for x in hits.mean(axis=0)],
            "monotonic": bool(np.all(np.diff(mean * sign) >= -1e-3)),
            "photos_monotonic_share": float(np.mean(np.all(steps >= -1e-2, axis=1))),
            "photos": len(entries)}


# -- the run -------------------------------------------------------------------------------------

def evaluate(data: Path, config: EvalConfig = EvalConfig(), labels: Path | None = None,
             editor=None, show_progress: bool = True) -> tuple[dict, list[Measurement]]:
    """Run every method on every task's photos. Returns the report (JSON-ready) and the
    measurements (for grids and per-photo rows).

    Args:
        data: the shared data folder (CelebA photos of `config.split`, with CelebA's labels) or
            any folder of photos (labels from `labels`, a CSV file, or else from the judge's
            reading of each input).
        editor: a ready `facedit.edit.Editor` (default: `Editor.load(config.model)`).
    """
    # 1. check inputs
    tasks = config.tasks()
    methods = get_methods(config.methods)
    data = Path(data)
    if not data.exists():
        raise ConfigError(f"DATA: {data} does not exist")
    if config.n < 1:
        raise ConfigError(f"--n: expected at least 1 photo per task, got {config.n}")
    if config.refs < 2:
        raise ConfigError(f"--refs: expected at least 2 real references per task, "
                          f"got {config.refs}")
    if not config.ref_splits or not set(config.ref_splits) <= {"train", "val", "test"}:
        raise ConfigError(f"--ref-splits: expected some of train, val, test, got "
                          f"{','.join(config.ref_splits) or 'none'}")
    started = time.time()
    # 2. the editor, its judge and the identity model
    if editor is None:
        from facedit.edit import Editor
        editor = Editor.load(config.model)
    if editor.judge is None:
        raise ConfigError("the evaluation needs an editor with a judge")
    attributes = list(editor.judge.attributes)
    for t in tasks:
        if not t.is_mirror and t.label not in attributes:
            raise ConfigError(f"--edits: the judge has no reading of {t.label}")
    probes = task_probes(config.probe_data, tasks, editor)
    identity, identity_note = None, None
    if config.identity:
        try:
            identity = load_identity()
        except FaceditError as exc:
            identity_note = f"not measured: {exc}"
    # 3. the photos and their labels
    if is_shared_data(data) and labels is None:
        photos = celeba_photos(data, config.split, config.seed)
        pool = [p for split in config.ref_splits for p in (
            photos if split == config.split else celeba_photos(data, split, config.seed))]
        source = (f"CelebA wild photos, {config.split} split (by person), CelebA labels; "
                  f"real references from the {' and '.join(config.ref_splits)} splits")
    elif data.is_dir():
        photos = folder_photos(data, labels)
        pool = photos
        source = f"folder {data}, labels " + (f"from {labels}" if labels else
                                              "from the judge's reading of each input")
    else:
        raise ConfigError(f"DATA: expected a folder of photos or the shared data folder, "
                          f"got {data}")
    bank = PhotoBank(editor, identity)
    # 4. every task: inputs and references, each method on each input, the figures
    results, counts, measurements = {}, {}, []
    for task in tasks:
        present_of = _present_of(bank, task, attributes)
        inputs, refs = select(photos, task, config.n, present_of, pool, config.refs)
        entries = [e for e in (bank.get(p) for p in inputs) if e is not None]
        ref_entries = [e for e in (bank.get(p) for p in refs) if e is not None]
        per_method = {m.name: [] for m in methods}
        for e in tqdm(entries, desc=task.name, unit="photo", disable=not show_progress):
            shared: dict = {}
            for m in methods:
                out = m.edit(editor, task, e.photo, e.face, shared)
                per_method[m.name].append(measure(editor, identity, task, e, m.name, out,
                                                  probes.get(task.name)))
        region = task_region(editor, task)
        on = matched_traits(task, attributes)
        feats_in, traits_in = _region_feats(entries, region, inputs, on, attributes)
        feats_ref, traits_ref = _region_feats(ref_entries, region, refs, on, attributes)
        matched = {"on": on, "weights": matching_weights(traits_ref, traits_in)}
        space = FeatureSpace.fit(np.concatenate([feats_ref, feats_in]), dims=FEATURE_DIMS) \
            if len(feats_ref) + len(feats_in) >= 8 else None
        results[task.name] = {}
        for m in methods:
            ms = per_method[m.name]
            if not ms:
                continue
            curve = strength_curve(editor, m, task, entries[:config.curve_photos],
                                   config.curve_points)
            realism = realism_of(space, [x.feats for x in ms], feats_in, feats_ref, matched)
            results[task.name][m.name] = summarise(task, ms, attributes, realism, curve,
                                                   probes.get(task.name))
            measurements += ms
        counts[task.name] = {"chosen": len(inputs), "evaluated": len(entries),
                             "references": len(ref_entries), "region": region}
        if task.name in probes:
            counts[task.name]["probe_rows"] = {"train": probes[task.name].train_count,
                                               "val": probes[task.name].val_count}
    # 5. the report
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report = {
        "config": {**asdict(config), "methods": list(config.methods), "data": str(data),
                   "labels": str(labels) if labels else None},
        "photos": {"source": source, "per_task": counts, "skipped": dict(bank.skipped)},
        "tasks": {t.name: {"attribute": t.attribute, "target": t.target} for t in tasks},
        "methods": {m.name: m.description for m in methods},
        "judge": "facedit's attribute classifier (the editor calibrates against it too)",
        "probe": (f"logistic regression on region features of the CelebA faces of "
                  f"{config.probe_data} (train split; balanced accuracy on its val split), "
                  f"which the editor never sees" if probes else "not measured"),
        "attributes": attributes,
        "identity_model": identity.name if identity is not None else identity_note,
        "results": results,
        "peak_rss_mib": round(peak, 1),
        "minutes": round((time.time() - started) / 60, 2),
        "environment": {"python": platform.python_version(), "cpu_count": os.cpu_count(),
                        "load_average_1min": round(os.getloadavg()[0], 2)},
    }
    return report, measurements


def task_probes(probe_data: str | None, tasks: list[Task], editor) -> dict[str, Probe]:
    """{task name: Probe} for every task but mirror, each trained on `probe_data` for the task's
    label on its region (`task_region`); tasks that share both share one probe. Empty without
    probe data."""
    if probe_data is None:
        return {}
    trained: dict[tuple[str, str], Probe] = {}
    out = {}
    for task in tasks:
        if task.is_mirror:
            continue
        key = (task.label, task_region(editor, task))
        if key not in trained:
            trained[key] = train_probe(Path(probe_data), *key)
        out[task.name] = trained[key]
    return out


def _present_of(bank: PhotoBank, task: Task, attributes: list[str]):
    """photo -> whether it has the task's attribute: its label, else the judge's reading."""
    def present(photo: Photo):
        if task.is_mirror:
            return True
        if task.label in photo.labels:
            return bool(photo.labels[task.label])
        entry = bank.get(photo)
        return None if entry is None else bool(entry.probs[attributes.index(task.label)] >= 0.5)
    return present


def matched_traits(task: Task, attributes: list[str]) -> list[str]:
    """The traits a task's real references are matched on: `MATCHED_TRAITS` the judge reads,
    less the task's own."""
    return [t for t in MATCHED_TRAITS if t != task.label and t in attributes]


def _region_feats(entries: list[Entry], region: str, photos: list[Photo], traits: list[str],
                  attributes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The region's features (N, F) of the entries whose region could be measured, and their
    traits (N, T) 0/1: the photo's label where known, else the judge's reading of it."""
    if not entries:
        return np.zeros((0, 1)), np.zeros((0, len(traits)))
    labels = {p.path.name: p.labels for p in photos}
    feats = np.asarray(region_features(np.stack([e.face.aligned.crop for e in entries]),
                                       [e.face.aligned.face for e in entries], region),
                       np.float64)
    known = [labels.get(e.name, {}) for e in entries]
    values = np.array([[float(k[t]) if t in k else float(e.probs[attributes.index(t)] >= 0.5)
                        for t in traits] for e, k in zip(entries, known)]).reshape(len(entries),
                                                                                   len(traits))
    ok = np.isfinite(feats).all(axis=1)
    return feats[ok], values[ok]


def best_and_worst(task: Task, measurements: list[Measurement], methods: list[str],
                   attributes: list[str], rows: int):
    """Photo names of the best and worst outputs of the first method (by `progress`), each with
    every method's measurement: ([(name, {method: m})], [...])."""
    j = None if task.is_mirror else attributes.index(task.label)
    by_photo: dict[str, dict] = {}
    for m in measurements:
        if m.task == task.name:
            by_photo.setdefault(m.photo, {})[m.method] = m
    ranked = sorted(by_photo.items(), key=lambda kv: progress(task, kv[1][methods[0]], j),
                    reverse=True)
    return ranked[:rows], ranked[::-1][:rows]


def photo_rows(measurements: list[Measurement], attributes: list[str], tasks) -> list[dict]:
    """One JSON-ready row per photo, task and method (they name data files: keep them out of the
    repository)."""
    index = {t.name: t for t in tasks}
    out = []
    for m in measurements:
        task = index[m.task]
        j = None if task.is_mirror else attributes.index(task.label)
        row = {"photo": m.photo, "task": m.task, "method": m.method,
               "progress": _num(progress(task, m, j)), "identity": _num(m.identity),
               "psnr_outside": _num(m.psnr_outside), "psnr_background": _num(m.psnr_background),
               "seam_ratio": _num(m.seam_ratio),
               "seconds": {k: round(v, 4) for k, v in m.seconds.items()},
               **{k: _num(v) for k, v in m.info.items()}}
        if j is not None:
            row.update(judge_before=float(m.probs_before[j]), judge_after=_num(m.probs_after[j]))
        if m.probe_before is not None:
            row.update(probe_before=_num(m.probe_before), probe_after=_num(m.probe_after))
        out.append(row)
    return out


def run_evaluation(data: Path, out_dir: Path, config: EvalConfig = EvalConfig(),
                   labels: Path | None = None, grids_dir: Path | None = None, editor=None,
                   show_progress: bool = True) -> tuple[dict, dict]:
    """`evaluate`, then write the report, plots, grids and per-photo rows
    (`facedit.eval.report`). Returns the report and {kind: path} of the files written."""
    from facedit.eval.report import make_grids, write_report

    report, measurements = evaluate(data, config, labels, editor, show_progress)
    tasks, attributes = config.tasks(), report["attributes"]
    grids = make_grids(tasks, measurements, list(config.methods), attributes, config.grid_rows)
    rows = photo_rows(measurements, attributes, tasks)
    written = write_report(report, out_dir, grids, rows, grids_dir)
    return report, written
