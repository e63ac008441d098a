"""Landmark warps of aligned face crops (a piecewise-affine warp over the Delaunay triangulation of
the dense landmarks), which keep the photos' own sharpness:

* `morph_frame` - between two crops: the in-between face takes the in-between shape and the
  mixed appearance, each pixel favouring the crop that saw it less foreshortened; into a crop's
  own mirror image, outside the face each crop keeps one half of the frame; both ends exact;
* `close_mouth` - one crop's lips brought together over its teeth (`mouth_closing`, from the
  teeth's edges that `teeth_mask` finds by colour: `fit_inner_lips`), what was teeth filled from
  the lips, and a soft shadow where the lips meet.

Pure array functions."""
from __future__ import annotations

import functools

import cv2
import numpy as np
import scipy.sparse
import scipy.sparse.linalg
from scipy.interpolate import LinearNDInterpolator
from threadpoolctl import ThreadpoolController

from facedit.blend import apply_residual
from facedit.errors import ShapeError
from facedit.faces import (INNER_MOUTH_RING, LOWER_LIP_INNER, LOWER_LIP_OUTER, OUTER_MOUTH_RING,
                           UPPER_LIP_INNER, UPPER_LIP_OUTER)

# A morph frame favours, pixel by pixel, the crop that saw a region less foreshortened, by its
# source area to this power (`morph_frame`).
DETAIL_POWER = 4.0
LIPS_MEET = 0.94  # the lips close this share of the gap between them: they meet, 6% apart
# The upper lip's part of that closing; the lower lip (the jaw) does the rest. Equal parts
# stretched the short skin between a wide smile's upper lip and the nose into streaks.
UPPER_SHARE = 0.35
# The lips' outer edges move this share of their inner edges' closing: a smile stretches the
# lips thin, and closed they fill out again.
OUTER_FOLLOW = 0.6
# The share of the lips' curve (corners above the middle: a smile's) that closing takes out.
# 300 held-out smiles removed, 0 / 0.35 / 0.5 / 0.6: judge 0.91 / 0.92 / 0.93 / 0.95, probe 0.78 /
# 0.81 / 0.83 / 0.84, realism 0.75 / 0.71 / 0.69 / 0.68; by eye 0.6 leaves the smile's dark
# corners as small hooks above the lowered ones, 0.5 on a few faces
# (benchmarks/results_mouth_flatten.json).
FLATTEN = 0.5
MOUTH_CORNERS = ((78, 61), (308, 291))  # (inner, outer) corner landmarks, left and right


def _anchors(size: int, per_side: int = 8) -> np.ndarray:
    """Points along the crop border: they do not move, so the warp covers the whole crop."""
    s = np.linspace(0, size - 1, per_side)
    zero, last = np.zeros_like(s), np.full_like(s, size - 1)
    return np.unique(np.concatenate([np.stack([s, zero], 1), np.stack([s, last], 1),
                                     np.stack([zero, s], 1), np.stack([last, s], 1)]), axis=0)


def displacement_field(points: np.ndarray, target: np.ndarray, size: int,
                       smooth_outside: bool = False, step: int = 4) -> np.ndarray:
    """The backward field of the warp that moves `points` (N, 2) to `target` (N, 2) in an
    (size, size) image: for each output pixel, the offset (dx, dy) to read the input at.
    Linear over the triangulation of the target shape, zero on the crop border. (S, S, 2).

    Outside the landmarks' hull the field is, by default, linear over triangles that join the
    hull to fixed points on the border: fine for small moves inside a region mask. A large move
    of the whole face (a turned face morphed into its mirror) stretches those long, thin
    triangles into streaks radiating through the hair and background; `smooth_outside` gives
    the smoothest continuation there instead (`_harmonic_fill`): the field fades out evenly
    between the face and the border.

    The field is evaluated every `step` pixels and upsampled (smooth and fast); a fold where
    landmarks meet (closed lips) is smeared over a cell, so such a warp asks for `step` 1."""
    grid = max(16, size // step)
    ys, xs = np.mgrid[0:grid, 0:grid] * ((size - 1) / (grid - 1))
    if smooth_outside:
        src, dst, fill = points.astype(np.float64), target.astype(np.float64), np.nan
    else:
        anchors = _anchors(size)
        src = np.concatenate([points, anchors]).astype(np.float64)
        dst = np.concatenate([target, anchors]).astype(np.float64)
        fill = 0.0
    # The triangulation makes thousands of tiny LAPACK calls; a multi-threaded BLAS turns each
    # into a thread hand-off, 8 ms -> 8 s on a busy 2-core machine. One thread is the fast path.
    with _threadpools().limit(limits=1, user_api="blas"):
        field = LinearNDInterpolator(dst, src - dst, fill_value=fill)
        disp = field(np.stack([xs.ravel(), ys.ravel()], 1)).reshape(grid, grid, 2)
    if smooth_outside:
        disp = _harmonic_fill(disp)
    return cv2.resize(disp.astype(np.float32), (size, size), interpolation=cv2.INTER_LINEAR)


def _harmonic_fill(values: np.ndarray) -> np.ndarray:
    """`values` (G, G, C) with its NaN cells replaced by the harmonic function (each cell the
    mean of its four neighbours) that matches the known cells and is zero on the grid's border:
    the smoothest continuation, with no creases along triangle edges."""
    g = values.shape[0]
    known = ~np.isnan(values[..., 0])
    known[0, :] = known[-1, :] = known[:, 0] = known[:, -1] = True
    values = np.where(np.isnan(values), 0.0, values)
    values[0, :] = values[-1, :] = values[:, 0] = values[:, -1] = 0.0
    unknown = np.flatnonzero(~known)
    if unknown.size == 0:
        return values
    index = np.full(g * g, -1)
    index[unknown] = np.arange(unknown.size)
    rows, cols, rhs = [], [], np.zeros((unknown.size, values.shape[2]))
    flat = values.reshape(g * g, -1)
    for step in (1, -1, g, -g):  # the four neighbours (no unknown cell touches the border)
        nb = unknown + step
        inner = index[nb] >= 0
        rows.append(np.arange(unknown.size)[inner])
        cols.append(index[nb[inner]])
        rhs[~inner] += flat[nb[~inner]]
    n = unknown.size
    laplacian = scipy.sparse.csr_matrix(
        (np.concatenate([np.full(n, 4.0)] + [-np.ones(r.size) for r in rows]),
         (np.concatenate([np.arange(n)] + rows), np.concatenate([np.arange(n)] + cols))),
        shape=(n, n))
    out = flat.copy()
    out[unknown] = scipy.sparse.linalg.spsolve(laplacian.tocsc(), rhs).reshape(n, -1)
    return out.reshape(values.shape)


@functools.lru_cache(maxsize=1)
def _threadpools() -> ThreadpoolController:
    """The process's thread pools, inspected once (a `threadpool_limits` call inspects every
    loaded library again: 3 ms each time)."""
    return ThreadpoolController()


def warp_by_field(image: np.ndarray, field: np.ndarray, amount: float = 1.0) -> np.ndarray:
    """`image` (S, S, C) read at each pixel plus `amount` times the (S, S, 2) backward `field`
    (resized to the image when their sizes differ, offsets scaled with it)."""
    size = image.shape[0]
    if field.shape[0] != size:
        field = cv2.resize(field, (size, size), interpolation=cv2.INTER_LINEAR) * (
            size / field.shape[0])
    yy, xx = _pixel_grid(size)
    a = np.float32(amount)
    return cv2.remap(image, xx + a * field[..., 0], yy + a * field[..., 1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REFLECT_101)


@functools.lru_cache(maxsize=8)
def _pixel_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """The (y, x) pixel coordinates of a (size, size) image, float32, read-only."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    yy.setflags(write=False)
    xx.setflags(write=False)
    return yy, xx


def mouth_closing(points: np.ndarray) -> np.ndarray:
    """The landmark displacement (N, 2) that closes an open mouth: the lips close `LIPS_MEET` of
    the gap between their inner edges, column by column, the upper lip's inner edge moving down
    `UPPER_SHARE` of that, the lower lip's up the rest, and their outer edges `OUTER_FOLLOW` of
    their inner edges' moves (closed lips fill out); and the lips and their corners move
    vertically by `FLATTEN` of their meeting line's height over its middle, so a smile's
    upturned corners come down. The mesh's other points on the lips (rings between the inner
    and outer edges) move with their lip's column (`_carry_lips`), so the lips move whole
    instead of tearing along those rings. Every other point stays.

    Args:
        points: (N, 2) face mesh landmarks (x, y) in crop pixels.
    """
    shift = np.zeros_like(points, dtype=np.float32)
    gap = _lip_gap(points)
    up, down = UPPER_SHARE, UPPER_SHARE - 1
    for rows, share in ((UPPER_LIP_INNER, up), (UPPER_LIP_OUTER, OUTER_FOLLOW * up),
                        (LOWER_LIP_INNER, down), (LOWER_LIP_OUTER, OUTER_FOLLOW * down)):
        shift[list(rows)] = share * LIPS_MEET * gap
    # Where the lips will meet, per column and at the corners, against the middle column.
    meet = points[list(UPPER_LIP_INNER), 1] + UPPER_SHARE * LIPS_MEET * gap[:, 1]
    middle = meet[len(meet) // 2]
    for rows in (UPPER_LIP_INNER, UPPER_LIP_OUTER, LOWER_LIP_INNER, LOWER_LIP_OUTER):
        shift[list(rows), 1] -= FLATTEN * (meet - middle)
    for inner, outer in MOUTH_CORNERS:
        shift[[inner, outer], 1] -= FLATTEN * (points[inner, 1] - middle)
    return _carry_lips(points, shift)


def _carry_lips(points: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """`shift` with every other mesh point inside the lips' outer ring moved like the lip it is
    on (above the line where the lips meet, the upper lip): as its inner and outer edges at the
    point's x, mixed by where the point lies between them."""
    listed = set(OUTER_MOUTH_RING) | set(INNER_MOUTH_RING)
    ring = np.asarray(points[list(OUTER_MOUTH_RING)], np.float32)

    def at(rows, x, values):  # a lip edge's value at x, interpolated between its columns
        xs = points[list(rows), 0]
        order = np.argsort(xs)
        return np.interp(x, xs[order], values[list(rows)][order])

    out = shift.copy()
    for i in range(len(points)):
        x, y = float(points[i, 0]), float(points[i, 1])
        if i in listed or cv2.pointPolygonTest(ring, (x, y), False) < 0:
            continue
        top, bottom = at(UPPER_LIP_INNER, x, points[:, 1]), at(LOWER_LIP_INNER, x, points[:, 1])
        inner, outer = ((UPPER_LIP_INNER, UPPER_LIP_OUTER) if y < (top + bottom) / 2
                        else (LOWER_LIP_INNER, LOWER_LIP_OUTER))
        y_in, y_out = at(inner, x, points[:, 1]), at(outer, x, points[:, 1])
        t = float(np.clip((y - y_out) / (y_in - y_out), 0, 1)) if abs(y_in - y_out) > 1e-6 else 1.0
        for axis in (0, 1):
            edge_in, edge_out = at(inner, x, shift[:, axis]), at(outer, x, shift[:, axis])
            out[i, axis] = edge_out + t * (edge_in - edge_out)
    return out


# The closing field is smoothed on each side of the closed lips' line, this wide (Gaussian sigma,
# a fraction of the crop's side: 2 px at 256): a landmark warp evaluated pixel by pixel bends
# along its triangles' edges (a lip moved far from a fixed nose draws a V), one evaluated on a
# coarse grid smears the fold where the lips meet, so teeth leak into them.
CLOSING_SMOOTH = 2 / 256


def closing_field(points: np.ndarray, shift: np.ndarray, size: int) -> np.ndarray:
    """The backward field (S, S, 2) of the warp that moves `points` by `shift` (`mouth_closing`):
    evaluated at every pixel, then smoothed on each side of the line where the moved lips meet
    (`CLOSING_SMOOTH`), so it stays sharp along that line and smooth everywhere else."""
    field = displacement_field(points, points + shift, size, step=1)
    moved = points + shift
    (left, _), (right, _) = MOUTH_CORNERS
    meet = (moved[list(UPPER_LIP_INNER)] + moved[list(LOWER_LIP_INNER)]) / 2
    line = np.concatenate([[[0.0, moved[left, 1]]], moved[[left]], meet, moved[[right]],
                           [[size - 1.0, moved[right, 1]]]])
    below = np.zeros((size, size), np.float32)
    cv2.fillPoly(below, [np.rint(np.concatenate([line, [[size - 1.0, size - 1.0],
                                                        [0.0, size - 1.0]]])).astype(np.int32)],
                 1.0)
    sigma = max(0.5, CLOSING_SMOOTH * size)
    out = np.zeros_like(field)
    for side in (below, 1.0 - below):
        weight = cv2.GaussianBlur(side, (0, 0), sigma)
        smooth = cv2.GaussianBlur(field * side[..., None], (0, 0), sigma)
        out += side[..., None] * smooth / np.maximum(weight, 1e-6)[..., None]
    return out


# Teeth are told from lips by colour (`teeth_mask`): less red than the lips' reddest tenth by at
# least this share of the mouth's spread of redness (and by at least TEETH_MIN_RED Lab units),
# and lighter than the lips' median; the lips' outer ring is first shrunk by TEETH_INSET of the
# crop's side, so the skin at the corners is never taken for teeth.
TEETH_RED_SHARE = 0.5
TEETH_MIN_RED = 4.0
TEETH_INSET = 0.01
# A mouth whose inner-lip ring opens less than this (mean gap, a fraction of the crop's side:
# 2 px at 256) reads as closed: a closed-lip smile's lips, lit pale, would pass the colour test,
# so there teeth must also be lighter than the skin round the mouth (its TEETH_SKIN percentile:
# the mesh closes the ring on some small, blurry open smiles, whose teeth are the lightest
# thing there).
MOUTH_OPEN = 0.008
TEETH_SKIN = 90


def mouth_opening(points: np.ndarray) -> float:
    """The mean gap (pixels) between the lips' inner edges of the face mesh `points` (N, 2)."""
    return float(_lip_gap(points)[:, 1].mean())


def _lip_gap(points: np.ndarray) -> np.ndarray:
    """(K, 2): each lower inner-lip point minus the upper one of its column."""
    return points[list(LOWER_LIP_INNER)] - points[list(UPPER_LIP_INNER)]


def teeth_mask(crop: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Where the open mouth of `crop` shows teeth: (S, S) bool.

    MediaPipe's inner-lip ring fits a wide smile's opening loosely: the teeth often show well
    outside it, down to the lower lip's outer edge. So the ring is grown by colour: inside the
    lips' outer ring, the pixels less red than the lips and lighter than them (teeth, not the
    dark inside of the mouth, which reads as the closed lips' shadow) that join the inner ring.
    Where the ring reads as closed (`MOUTH_OPEN`), teeth must also be lighter than the skin.

    Args:
        crop: (S, S, 3) uint8 RGB.
        points: (N, 2) face mesh landmarks (x, y) in `crop` pixels.
    """
    size = crop.shape[0]
    inner, outer = np.zeros((size, size), np.uint8), np.zeros((size, size), np.uint8)
    cv2.fillPoly(inner, [np.rint(points[list(INNER_MOUTH_RING)]).astype(np.int32)], 1)
    cv2.fillPoly(outer, [np.rint(points[list(OUTER_MOUTH_RING)]).astype(np.int32)], 1)
    lips = (outer > 0) & (inner == 0)
    if not lips.any():
        return inner > 0
    inset = max(1, round(TEETH_INSET * size))
    around = cv2.dilate(outer, np.ones((8 * inset + 1, 8 * inset + 1), np.uint8)) > outer
    outer = cv2.erode(outer, np.ones((2 * inset + 1, 2 * inset + 1), np.uint8))
    lab = cv2.cvtColor(crop, cv2.COLOR_RGB2LAB).astype(np.float32)
    red, light = lab[..., 1], lab[..., 0]
    mouth = red[outer > 0] if outer.any() else red[lips]
    reddest, palest = np.percentile(mouth, 90), np.percentile(mouth, 10)
    threshold = reddest - max(TEETH_MIN_RED, TEETH_RED_SHARE * (reddest - palest))
    like_teeth = (outer > 0) & (red < threshold) & (light > np.median(light[lips]))
    if mouth_opening(points) < MOUTH_OPEN * size and around.any():
        like_teeth &= light > np.percentile(light[around], TEETH_SKIN)
    # Not past the inner corners: the skin where the lips' outer ring ends is pale too.
    corners = points[[inner for inner, _ in MOUTH_CORNERS], 0]
    like_teeth[:, :max(0, int(np.floor(corners.min())) - inset)] = False
    like_teeth[:, int(np.ceil(corners.max())) + inset + 1:] = False
    grown = (like_teeth | (inner > 0)).astype(np.uint8)
    _, labels = cv2.connectedComponents(grown, connectivity=8)
    joined = np.unique(labels[inner > 0])
    return np.isin(labels, joined[joined > 0])


def fit_inner_lips(points: np.ndarray, teeth: np.ndarray) -> np.ndarray:
    """`points` (N, 2) with the lips' inner edges moved out to the teeth's edges (`teeth_mask`),
    column by column: the upper lip's up to the teeth's top, the lower lip's down to their
    bottom, never inwards and never past the lip's outer edge. `mouth_closing` then brings the
    lips' real edges together, not the landmarks' loose fit inside the opening."""
    out = np.array(points, dtype=np.float32, copy=True)
    size = teeth.shape[1]
    for inner_rows, outer_rows, upper in ((UPPER_LIP_INNER, UPPER_LIP_OUTER, True),
                                          (LOWER_LIP_INNER, LOWER_LIP_OUTER, False)):
        for i, o in zip(inner_rows, outer_rows):
            x = int(np.clip(round(float(points[i, 0])), 0, size - 1))
            ys = np.flatnonzero(teeth[:, max(0, x - 1):x + 2].any(axis=1))
            if not ys.size:
                continue
            y, outer_y = float(points[i, 1]), float(points[o, 1])
            if upper:  # up to the teeth's top, stopping a pixel below the outer edge
                out[i, 1] = min(y, max(float(ys.min()), outer_y + 1))
            else:
                out[i, 1] = max(y, min(float(ys.max() + 1), outer_y - 1))
    return out


def close_mouth(crop: np.ndarray, points: np.ndarray, field: np.ndarray, shift: np.ndarray,
                fill: float = 1.0, teeth: np.ndarray | None = None) -> np.ndarray:
    """`crop` warped by the backward `field` that moves its landmarks `points` by `shift`
    (`mouth_closing`, plus any other shape change), then whatever still shows teeth filled from
    the lips around it (`_teeth_gap`) with a soft shadow where they meet (`_lip_seam`), mixed in
    by `fill`. A residual
    cannot paint teeth out (the model never drew them sharp): closing the real lips over them
    keeps the photo's own lip texture.

    Args:
        crop: (S, S, 3) uint8 RGB.
        points, shift: (N, 2) landmarks and their displacement, in `crop` pixels.
        field: (S', S', 2) at any size (rescaled to the crop's).
        fill: 0..1, how much of the filled gap replaces the warped teeth.
        teeth: (S', S') the open mouth's teeth (`teeth_mask`, any size) [default: inside the
            inner-lip ring of `points`].
    Returns:
        (S, S, 3) uint8.
    """
    warped = warp_by_field(crop, field)
    if fill <= 0:
        return warped
    size = crop.shape[0]
    ring = points[list(INNER_MOUTH_RING)] + shift[list(INNER_MOUTH_RING)]
    # The mouth and a margin around it (the fill reads its surroundings 3 px deep).
    x0, y0 = np.clip(np.floor(ring.min(axis=0)).astype(int) - 8, 0, size)
    x1, y1 = np.clip(np.ceil(ring.max(axis=0)).astype(int) + 9, 0, size)
    if x1 <= x0 or y1 <= y0:
        return warped
    box = warped[y0:y1, x0:x1]
    filled = cv2.inpaint(box, _teeth_gap(points, field, ring, size, teeth)[y0:y1, x0:x1], 3,
                         cv2.INPAINT_TELEA)
    # Lips that were closed already keep their own shadow: the seam grows with the opening.
    opened = min(1.0, max(0.0, mouth_opening(points) / (SEAM_OPEN * size)))
    filled = _lip_seam(filled, points + shift - (x0, y0), size, opened)
    if fill < 1:
        filled = apply_residual(box, filled.astype(np.float32) - box, fill)
    out = warped.copy()
    out[y0:y1, x0:x1] = filled
    return out


# The shadow where closed lips meet: how much it darkens the lips at its middle, and its
# softness (Gaussian sigma) as a fraction of the crop side (1.5 px at 256, as soft as the photos).
SEAM_DEPTH = 0.45
SEAM_SIGMA = 1.5 / 256
# The opening (mean gap of the lips' inner edges, a fraction of the crop's side: 6 px at 256)
# from which the seam is drawn at its full depth; a mouth closed already gets none.
SEAM_OPEN = 0.025


def _lip_seam(box: np.ndarray, moved: np.ndarray, size: int, depth: float = 1.0) -> np.ndarray:
    """`box` (uint8) with the line where the closed lips meet darkened: a filled gap is lip
    colour all through, which reads as one swollen lip; real closed lips show a soft shadow
    between them. The line is a cubic through the meeting points (the landmarks jitter by a
    pixel). `moved`: the closed mouth's landmarks (N, 2) in `box` pixels; `size`: the crop's
    side, which sets the shadow's softness; `depth`: 0..1 of `SEAM_DEPTH`."""
    upper = moved[list(UPPER_LIP_INNER)]
    lower = moved[list(LOWER_LIP_INNER)]
    (left_corner, _), (right_corner, _) = MOUTH_CORNERS
    meet = np.concatenate([moved[[left_corner]], (upper + lower) / 2, moved[[right_corner]]])
    left, right = float(meet[:, 0].min()), float(meet[:, 0].max())
    if right - left < 2:
        return box
    xs = np.linspace(left, right, 32)
    line = np.stack([xs, np.polyval(np.polyfit(meet[:, 0], meet[:, 1], 3), xs)], 1)
    shadow = np.zeros(box.shape[:2], np.float32)
    cv2.polylines(shadow, [np.rint(line * 16).astype(np.int32)], False, 1.0, 1, cv2.LINE_AA,
                  shift=4)
    shadow = cv2.GaussianBlur(shadow, (0, 0), max(0.5, SEAM_SIGMA * size))
    dark = 1.0 - depth * SEAM_DEPTH * shadow / max(float(shadow.max()), 1e-6)
    return np.clip(np.rint(box * dark[..., None]), 0, 255).astype(np.uint8)


# A pixel of the closed mouth is filled when at least this share of what it reads was teeth.
TEETH_READ = 0.2


def _teeth_gap(points: np.ndarray, field: np.ndarray, ring: np.ndarray, size: int,
               teeth: np.ndarray | None = None) -> np.ndarray:
    """Where the closed mouth (S, S) uint8 0/1 still shows teeth: the gap left between the moved
    lips (`ring`), and every pixel the warp reads from the open mouth (`teeth`, or the photo's
    inner-lip ring): squeezed between lips 4 px cells apart (`displacement_field`), teeth leak
    into the lips as light streaks. Grown by 1 px: the edges' pixels are part teeth."""
    if teeth is None:
        teeth = np.zeros((size, size), np.float32)
        cv2.fillPoly(teeth, [np.rint(points[list(INNER_MOUTH_RING)]).astype(np.int32)], 1.0)
    elif teeth.shape[0] != size:
        teeth = cv2.resize(np.float32(teeth), (size, size), interpolation=cv2.INTER_AREA)
    gap = (warp_by_field(np.float32(teeth), field) > TEETH_READ).astype(np.uint8)
    cv2.fillPoly(gap, [np.rint(ring).astype(np.int32)], 1)
    return cv2.dilate(gap, np.ones((3, 3), np.uint8))


def source_area(field: np.ndarray) -> np.ndarray:
    """How much source image each output pixel of a backward warp `field` (S, S, 2) reads: the
    Jacobian determinant of x -> x + field(x). Above 1 the source is squeezed into the output
    (detail kept), below 1 it is stretched (a region the photo saw foreshortened, now blown up).
    (S, S) float32, clipped to [0.05, 20] (folds and tears read as very little detail)."""
    dxx = np.gradient(field[..., 0], axis=1)
    dxy = np.gradient(field[..., 0], axis=0)
    dyx = np.gradient(field[..., 1], axis=1)
    dyy = np.gradient(field[..., 1], axis=0)
    return np.clip((1 + dxx) * (1 + dyy) - dxy * dyx, 0.05, 20.0).astype(np.float32)


def morph_frame(crop_a: np.ndarray, points_a: np.ndarray, crop_b: np.ndarray,
                points_b: np.ndarray, t: float, detail_power: float = DETAIL_POWER,
                mirror: bool = False) -> np.ndarray:
    """The frame at `t` in [0, 1] between two (S, S, 3) uint8 crops with corresponding landmark
    sets (N, 2) in crop pixels. Returns (S, S, 3) uint8; t = 0 gives `crop_a`, t = 1 `crop_b`.

    Both crops are warped to the in-between shape and mixed (1 - t) : t, each pixel's share
    weighted by `source_area` ** `detail_power` (smoothed): where one crop saw a region
    foreshortened (the far side of a turned face) the other crop's view of it wins, instead of
    the two ghosting over each other. Frontal pairs (equal areas) mix plainly.

    mirror: `crop_b` is `crop_a` flipped left-right. Outside the face (hair, ears, background)
    the two crops show different things, which a plain mix doubles (two pairs of ears, hair
    like horns); there each crop keeps one half of the frame (`_half_share`): at t = 0.5 one
    side of the head and its mirror image."""
    if crop_a.shape != crop_b.shape or points_a.shape != points_b.shape:
        raise ShapeError(f"morph: crops {crop_a.shape} / {crop_b.shape} and points "
                         f"{points_a.shape} / {points_b.shape} must match")
    if t <= 0.0:
        return crop_a.copy()
    if t >= 1.0:
        return crop_b.copy()
    size = crop_a.shape[0]
    target = (1 - t) * points_a + t * points_b
    field_a = displacement_field(points_a, target, size, smooth_outside=True)
    field_b = displacement_field(points_b, target, size, smooth_outside=True)
    a = warp_by_field(crop_a, field_a).astype(np.float32)
    b = warp_by_field(crop_b, field_b).astype(np.float32)
    share = np.float32(t)
    if detail_power:
        ratio = (source_area(field_b) / source_area(field_a)) ** detail_power
        share = t * ratio / ((1 - t) + t * ratio)
    if mirror:
        inside = _hull_weight(target, size)
        share = inside * share + (1 - inside) * _half_share(t, share, inside)
    if detail_power or mirror:
        share = cv2.GaussianBlur(share.astype(np.float32), (0, 0), size / 64)[..., None]
    return np.clip(np.rint(a + share * (b - a)), 0, 255).astype(np.uint8)


# Outside the face of a mirror morph (`_half_share`): the width of the change across the
# midline (a fraction of the side), and the share of the morph's time over which each pixel
# changes from one crop to the other.
HALF_FEATHER = 1 / 16
HALF_WINDOW = 0.4


def _half_share(t: float, share: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """For a mirror morph, b's share at `t` outside the face: b takes the half of the frame
    where it saw the face better than a (its near cheek; b's `share` inside the face is larger
    there), a keeps the other half. Each pixel changes over a window of `HALF_WINDOW` of the
    morph: b's half early (t from 0.05 to 0.45), a's half late (0.55 to 0.95), the midline in
    between; so at t = 0.5 each half shows one crop, and no frame doubles hair or ears. A frontal
    face (no side better seen) gives b the left half. (S, S) float32."""
    size = inside.shape[0]
    x = np.arange(size, dtype=np.float32) - (size - 1) / 2
    share = np.broadcast_to(np.float32(share), inside.shape)
    face_right = (inside > 0.5) & (x > 0)
    face_left = (inside > 0.5) & (x <= 0)
    b_on_right = bool(face_right.any() and face_left.any()
                      and share[face_right].mean() > share[face_left].mean() + 1e-3)
    side = np.tanh(x / (HALF_FEATHER * size)) * (1.0 if b_on_right else -1.0)
    start = 0.5 - 0.25 * side - HALF_WINDOW / 2  # when each column starts to change
    u = np.clip((t - start) / HALF_WINDOW, 0.0, 1.0)
    return np.broadcast_to(u * u * (3 - 2 * u), inside.shape).astype(np.float32)


def _hull_weight(points: np.ndarray, size: int) -> np.ndarray:
    """The convex hull of face landmarks (N, 2), feathered: 1 inside, 0 well outside. (S, S)
    float32."""
    hull = cv2.convexHull(np.rint(points).astype(np.int32))
    mask = np.zeros((size, size), np.float32)
    cv2.fillConvexPoly(mask, hull, 1.0)
    return cv2.GaussianBlur(mask, (0, 0), size / 64)
