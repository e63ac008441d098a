"""The editing pipeline on a tiny random-weight VAE and a fake judge with known answers: zero edits
change nothing, edits stay inside their regions, bad strengths are clear errors, calibration reaches
its target, morphs end exactly on their faces; the editing commands and `facedit directions add`
end to end."""
from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest
import torch
from click.testing import CliRunner
from skimage import data

from facedit.align import warp_mask_to_photo
from facedit.blend import luma, upsample_residual
from facedit.cli import main
from facedit.data.sources import CELEBA_ATTRIBUTES
from facedit.directions import DirectionSet
from facedit.edit import Editor, EncodedFace
from facedit.errors import ConfigError
from facedit.eyewear import LENS_LEVEL, eyewear_masks, lens_and_cheeks
from facedit.io import load_image, save_image
from facedit.models.backend import TorchVAEBackend
from facedit.models.vae import FaceVAE, VAEConfig
from facedit.morph import teeth_mask
from facedit.paths import user_directions

NAMES = ("smiling", "eyeglasses", "young", "male", "age")
JUDGED = ("smiling", "eyeglasses")  # attributes the fake judge reads from their own regions
LUMA = np.array([0.299, 0.587, 0.114])  # brightness: BT.601 luma
# Latent units per raw step: large enough that an edit moves its region by grey levels, not by
# fractions of one that rounding to uint8 would erase.
STEP_SCALE = 20.0
LATENT = 16
BLEND = 64


pytestmark = pytest.mark.usefixtures("one_thread")


def tiny_backend() -> TorchVAEBackend:
    """A 32 px, 16-dimensional FaceVAE with fixed random weights (the global RNG is untouched)."""
    config = VAEConfig(size=32, latent=LATENT, enc_channels=(8, 8, 16), dec_channels=(16, 8),
                       dec_extra=(0, 0))
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = FaceVAE(config)
    with torch.no_grad():  # spread the codes to about unit scale, as a trained VAE's are
        model.fc_mu.weight.mul_(25.0)
        model.fc_mu.bias.mul_(25.0)
    return TorchVAEBackend(model, config.size, config.latent, "tiny")


def tiny_directions() -> DirectionSet:
    """Random orthonormal directions named after catalogue attributes, scale 1."""
    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(LATENT, len(NAMES))))
    return DirectionSet(list(NAMES), q.T, {n: {"scale": 1.0} for n in NAMES})


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


class RegionJudge:
    """A judge whose reading of a judged attribute is a sigmoid of the mean brightness of the crop
    inside that attribute's region, 0.5 at the real crop; every other attribute reads 0.5, and the
    age grows with the mean brightness of the whole crop."""

    attributes = tuple(CELEBA_ATTRIBUTES)

    def __init__(self, weights: dict, gains: dict, offsets: dict, age_offset: float):
        self.weights, self.gains, self.offsets, self.age_offset = weights, gains, offsets, \
            age_offset

    @staticmethod
    def region_mean(crops: np.ndarray, weight: np.ndarray) -> np.ndarray:
        grey = np.asarray(crops, np.float64) @ LUMA
        return (grey * weight).sum(axis=(1, 2)) / weight.sum()

    def score(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        probs = np.full((len(crops), len(self.attributes)), 0.5)
        for label, weight in self.weights.items():
            m = self.region_mean(crops, weight)
            probs[:, self.attributes.index(label)] = _sigmoid(self.gains[label] *
                                                              (m - self.offsets[label]))
        ages = 40 + np.asarray(crops, np.float64).mean(axis=(1, 2, 3)) - self.age_offset
        return probs.astype(np.float32), ages.astype(np.float32)

    def value(self, crops: np.ndarray, label: str) -> np.ndarray:
        probs, ages = self.score(crops)
        return ages if label == "age" else probs[:, self.attributes.index(label)]


def _region_gradient(model: TorchVAEBackend, latent: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """d(mean brightness inside `weight`)/d(latent) of the decoding. (D,)"""
    z = torch.tensor(latent[None], requires_grad=True)
    grey = torch.einsum("chw,c->hw", model.model.decode(z)[0], torch.tensor(LUMA).float())
    w = torch.from_numpy(weight)
    ((grey * w).sum() / w.sum()).backward()
    return z.grad[0].numpy().astype(np.float64)


@pytest.fixture(scope="module")
def setup(astronaut, detector):
    """(editor, encoded astronaut face). The judged directions point up the gradient of their
    region's brightness (made orthonormal with random others), so their steps brighten their region
    monotonically (over positive steps: removing eyeglasses, a negative step, paints the eye band
    out first, so that reading jumps at 0); each gain puts the largest step at a reading of 0.95."""
    editor = Editor(tiny_backend(), tiny_directions(), detector=detector, blend_size=BLEND)
    face = editor.encode(astronaut)[0]
    small = {n: editor.weight(face, [n], small=True) for n in JUDGED}
    grads = [_region_gradient(editor.model, face.latent, small[n]) for n in JUDGED]
    rest = np.random.default_rng(0).normal(size=(LATENT, len(NAMES) - len(JUDGED)))
    q, _ = np.linalg.qr(np.column_stack(grads + [rest]))
    q[:, :len(JUDGED)] *= np.sign(np.sum(q[:, :len(JUDGED)] * np.column_stack(grads), axis=0))
    editor.directions = DirectionSet(list(NAMES), q.T, {n: {"scale": STEP_SCALE} for n in NAMES})

    weights, gains, offsets = {}, {}, {}
    for name in JUDGED:
        renders = editor.small_renders(face, [{name: t} for t in np.linspace(0, 3, 13)], [name])
        curve = RegionJudge.region_mean(renders, small[name])
        assert (np.diff(curve) > 0).all(), f"{name}: the tiny model's response is not monotonic"
        label = editor.attribute(name).label
        weights[label], offsets[label] = small[name], curve[0]
        gains[label] = np.log(0.95 / 0.05) / (curve[-1] - curve[0])
    editor.judge = RegionJudge(weights, gains, offsets, float(face.small.mean()))
    return editor, face


@pytest.fixture(scope="module")
def editor(setup):
    return setup[0]


@pytest.fixture(scope="module")
def face(setup):
    return setup[1]


def _changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.any(a != b, axis=2)


# -- zero edits and regions --------------------------------------------------------------------

def test_zero_raw_edit_returns_the_photo_bit_identical(editor, face, astronaut):
    result = editor.edit(astronaut, {"smiling": 0.0, "eyeglasses": 0}, raw=True, faces=[face])
    np.testing.assert_array_equal(result.photo, astronaut)
    np.testing.assert_array_equal(result.crops[0], face.aligned.crop)
    assert result.steps == [{"smiling": 0.0, "eyeglasses": 0.0}]


@pytest.mark.parametrize("reading, adds", [(0.3, True), (0.7, False)])
def test_glasses_are_not_added_over_a_worn_pair(editor, face, astronaut, monkeypatch, reading,
                                                adds):
    """'At least 0.95': a face read as wearing glasses (over 0.5) keeps its own; one read without
    them gets a pair. A smile read at 0.7 is still strengthened."""
    monkeypatch.setattr(editor, "_unedited_reading", lambda f, label: reading)
    steps = editor.solve_steps(face, {"eyeglasses": 0.95, "smiling": 0.95}, only_towards=True)
    assert ("eyeglasses" in steps and steps["eyeglasses"] > 0) == adds
    assert steps["smiling"] > 0
    result = editor.edit(astronaut, {"eyeglasses": 0.95}, faces=[face], only_towards=True)
    assert (result.steps[0].get("eyeglasses", 0.0) > 0) == adds
    if not adds:
        np.testing.assert_array_equal(result.photo, astronaut)


def test_target_already_met_changes_nothing(editor, face, astronaut):
    before = editor.edit(astronaut, {"smiling": 2.0}, raw=True, faces=[face]).before[0]["smiling"]
    result = editor.edit(astronaut, {"smiling": before}, faces=[face])
    assert result.steps == [{"smiling": 0.0}]
    np.testing.assert_array_equal(result.photo, astronaut)


@pytest.mark.parametrize("strengths", [{"smiling": 2.0}, {"smiling": -2.0}, {"eyeglasses": -2.5},
                                       {"eyeglasses": 2.0}, {"young": 3.0}])
def test_raw_edit_changes_only_inside_the_region(editor, face, astronaut, strengths):
    result = editor.edit(astronaut, strengths, raw=True, faces=[face])
    weight = editor.weight(face, list(strengths), steps=strengths)
    in_crop = _changed(result.crops[0], face.aligned.crop)
    assert in_crop.any() and not in_crop[weight == 0].any()

    in_photo = _changed(result.photo, astronaut)
    region = warp_mask_to_photo(face.aligned, weight)
    assert in_photo.any()
    assert not in_photo[region == 0].any(), "pixels outside the attribute's region changed"
    assert result.photo.shape == astronaut.shape and result.photo.dtype == np.uint8


def _with_smile_shape(editor, shift_px: float):
    """A copy of the editor whose smile has a shape: every landmark moves up by `shift_px` crop
    pixels per step (the editor confines it to the smile's region)."""
    import copy

    shaped = copy.copy(editor)
    shaped.directions = copy.deepcopy(editor.directions)
    shape = np.zeros((478, 2), np.float32)
    shape[:, 1] = -shift_px
    shaped.directions.shapes = {"smiling": shape / BLEND}
    return shaped


def test_shaped_edit_warps_only_inside_the_region_and_zero_is_identity(editor, face, astronaut):
    shaped = _with_smile_shape(editor, 3.0)
    weight = shaped.weight(face, ["smiling"])
    field = shaped.shape_field(face, {"smiling": 2.0})
    # Inside the region the crop is read up to 6 px lower (its content moves up), fading out
    # towards the region's feathered edge.
    core = field[weight == 1]
    assert core[:, 1].max() == pytest.approx(6.0, abs=0.1) and np.median(core[:, 1]) > 4.0
    assert np.abs(field[..., 0]).max() < 0.05 and field[..., 1].max() < 6.05
    assert not np.abs(field[weight == 0]).any(), "the warp reaches outside the region"

    result = shaped.edit(astronaut, {"smiling": 2.0}, raw=True, faces=[face])
    plain = editor.edit(astronaut, {"smiling": 2.0}, raw=True, faces=[face])
    changed = _changed(result.crops[0], face.aligned.crop)
    assert not changed[weight == 0].any()
    assert _changed(result.crops[0], plain.crops[0]).any(), "the shape changed nothing"
    zero = shaped.edit(astronaut, {"smiling": 0.0}, raw=True, faces=[face])
    np.testing.assert_array_equal(zero.photo, astronaut)


def test_shape_field_grows_with_the_step(editor, face):
    shaped = _with_smile_shape(editor, 3.0)
    one, two = (shaped.shape_field(face, {"smiling": s}) for s in (1.0, 2.0))
    np.testing.assert_allclose(two, 2 * one, atol=1e-5)
    assert shaped.shape_field(face, {"eyeglasses": 1.0}) is None
    assert shaped.shape_field(face, {"smiling": -1.0}) is None, "removal must not warp"


def _teeth(crop: np.ndarray, face) -> int:
    """Pixels brighter than the lips and skin (luma > 205) where the unedited crop of `face`
    shows teeth (`teeth_mask`: her inner-lip ring grown by colour): the astronaut's teeth."""
    mouth = teeth_mask(face.aligned.crop, face.aligned.face.mesh[:, :2])
    return int(((crop @ LUMA > 205) & mouth).sum())


def test_smile_removal_closes_the_lips_over_the_teeth(editor, face, astronaut):
    teeth = _teeth(face.aligned.crop, face)
    assert teeth >= 10, "the astronaut's smile shows her teeth"
    steps = [-0.3, -1.0, -3.0]
    crops = [editor.edit(astronaut, {"smiling": s}, raw=True, faces=[face]).crops[0] for s in steps]
    left = [_teeth(c, face) for c in crops]
    assert teeth > left[0] >= left[1] >= left[2] and left[2] <= 0.15 * teeth, (teeth, left)
    # The mouth darkens step by step as the lips close over the teeth and fade in.
    mouth = teeth_mask(face.aligned.crop, face.aligned.face.mesh[:, :2])
    light = [float((c @ LUMA)[mouth].mean()) for c in [face.aligned.crop] + crops]
    assert light[0] > light[1] > light[2] > light[3], light


def test_smile_removal_never_lightens_a_pixel_past_the_models_face(editor, face):
    """After the mouth's closing the residual's lightening is limited like a paint-out's: a
    pixel lightens from the closed-mouth crop towards the model's unsmiling face (shifted by
    the photo's mean offset from its decoding) and never past it, so no cheek comes out
    glowing; darkening passes."""
    steps = {"smiling": -3.0}
    crop = editor._base_crop(face, steps).astype(np.float32)
    size = crop.shape[0]
    edited = editor.model.decode(editor.shift(face.latent, steps)[None])[0]
    inside = editor._paste_mask_at(face, size) > 0.5
    offset = (crop[inside] - upsample_residual(face.base, size)[inside]).mean(axis=0)
    ceiling = np.maximum(crop, upsample_residual(edited, size) + offset) + 1.0  # 1: rounding
    raw = crop + upsample_residual(edited - face.base, size)
    assert (raw > ceiling).any(), "the unlimited residual lightens past it somewhere"
    out = editor.render(face, steps).astype(np.float32)
    assert (out <= ceiling).all()
    assert (out < crop - 2).any(), "the residual still darkens"


def _colour(image: np.ndarray) -> np.ndarray:
    """The colour part of an RGB image or change (minus its BT.601 luma)."""
    return image - (image @ LUMA)[..., None]


@pytest.mark.parametrize("name, step", [("smiling", 2.0), ("young", 3.0)])
def test_form_edits_keep_only_part_of_the_models_colour_change(editor, face, name, step,
                                                               monkeypatch):
    """A smile's residual keeps its light change and a quarter of its colour change (the model's
    colour noise); a colour-carrying attribute (age) keeps all of it."""
    crop = face.aligned.crop.astype(np.float64)
    kept = editor.render(face, {name: step}).astype(np.float64) - crop
    monkeypatch.setattr(editor, "chroma", 1.0)
    full = editor.render(face, {name: step}).astype(np.float64) - crop
    inside = editor.weight(face, [name]) > 0.5
    ratio = np.abs(_colour(kept)[inside]).sum() / np.abs(_colour(full)[inside]).sum()
    assert ratio == pytest.approx(editor.attribute(name).chroma, abs=0.08)
    # The light change is all kept (up to rounding, and clipping at black and white).
    assert np.abs((kept - full)[inside] @ LUMA).mean() <= 0.6


def test_added_glasses_change_the_light_under_the_lenses_and_keep_its_hue(editor, face):
    """Added glasses pass a share of the light under them (`blend.transmitted`), as a neutral
    lens does: the eyes and skin behind the lenses change their light and keep their hue. (On
    the astronaut with the shipped model, the model's own colour change, half of it kept, moved
    the chromaticity 13 times as much.)"""
    crop = face.aligned.crop.astype(np.float64)
    out = editor.render(face, {"eyeglasses": 2.0}).astype(np.float64)
    glasses, frames = eyewear_masks(face.aligned.face, crop.shape[:2])
    lens = cv2.erode((glasses - frames).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    assert lens.sum() > 50
    assert np.abs((out - crop) @ LUMA)[lens].mean() > 3  # (this module's model is untrained)

    def chromaticity(image):
        return image / (image.sum(axis=2, keepdims=True) + 1e-6)

    assert np.abs(chromaticity(out)[lens] - chromaticity(crop)[lens]).mean() < 0.003


def test_a_colour_edit_asked_with_a_form_edit_keeps_its_colour(editor):
    assert editor.chroma_of(["smiling"]) == editor.attribute("smiling").chroma < 1.0
    assert editor.chroma_of(["smiling", "young"]) == 1.0
    assert editor.chroma_of([]) == 1.0


def test_an_added_smile_keeps_part_of_the_models_light_change(editor, face, monkeypatch):
    """An addition of smiling keeps `add_light` of its residual's light change; its removal,
    and the other attributes asked with it, keep all of theirs."""
    share = editor.attribute("smiling").add_light
    assert 0 < share < 1
    assert editor._dimmed({"smiling": 2.0, "young": 1.0, "male": 0.0}) == (share, {"young": 1.0})
    assert editor._dimmed({"smiling": -2.0}) == (1.0, {"smiling": -2.0})
    kept = editor.render(face, {"smiling": 2.0}).astype(np.float64)
    renders = {}
    for light in (0.0, 1.0):  # the shape's warp alone, the warp and the whole residual
        monkeypatch.setattr(editor, "_dimmed", lambda steps, light=light: (light, {}))
        renders[light] = editor.render(face, {"smiling": 2.0}).astype(np.float64)
    inside = editor.weight(face, ["smiling"]) > 0.5
    light_change = lambda image: ((image - renders[0.0])[inside] @ LUMA).sum()  # noqa: E731
    assert light_change(kept) / light_change(renders[1.0]) == pytest.approx(share, abs=0.05)


def test_glasses_are_added_as_a_pair_of_glasses_and_removed_from_the_whole_eye_band(editor, face):
    band = editor.weight(face, ["eyeglasses"])
    pair = editor.weight(face, ["eyeglasses"], steps={"eyeglasses": 2.0})
    np.testing.assert_array_equal(editor.weight(face, ["eyeglasses"],
                                                steps={"eyeglasses": -2.0}), band)
    assert 0 < (pair > 0).sum() < 0.5 * (band > 0).sum()  # lenses and frames, not the band
    added = _changed(editor.render(face, {"eyeglasses": 2.0}), face.aligned.crop)
    assert added.any() and not added[pair == 0].any()
    removed = _changed(editor.render(face, {"eyeglasses": -2.5}), face.aligned.crop)
    assert removed[(band > 0) & (pair == 0)].any()
    # Calibration reads renders blended the same way.
    small = editor.small_renders(face, [{"eyeglasses": 2.0}], ["eyeglasses"])[0]
    pair_small = editor.weight(face, ["eyeglasses"], small=True, steps={"eyeglasses": 2.0})
    assert not np.any(small.astype(np.uint8)[pair_small == 0] != face.small[pair_small == 0])


def test_glasses_removal_lightens_the_skin_behind_the_lenses_no_more_than_the_cheeks(editor, face,
                                                                                   monkeypatch):
    # The model's glasses-free face lightens the whole eye band by `light` grey levels. The
    # astronaut wears no glasses: the skin round her eyes is lighter than her cheeks already,
    # so the removal adds none of it (it only paints out what it takes for frames).
    def renders(light):
        monkeypatch.setattr(type(editor), "decode", lambda self, f, step_sets: np.stack(
            [f.base + (light if s.get("eyeglasses", 0) < 0 else 0.0) for s in step_sets]))
        return luma(editor.render(face, {"eyeglasses": -2.5}))

    lenses, cheeks = lens_and_cheeks(face.aligned.face, (editor.blend_size,) * 2)
    painted, after = renders(0.0), renders(80.0)
    assert painted[lenses].mean() > LENS_LEVEL * painted[cheeks].mean()
    np.testing.assert_array_equal(after[lenses], painted[lenses])
    # Where the skin behind the lenses is darker than the cheeks, it comes up to their light.
    dimmed = face.aligned.crop.copy()
    dimmed[lenses] = (dimmed[lenses] * 0.5).astype(np.uint8)
    dark = EncodedFace(dataclasses.replace(face.aligned, crop=dimmed), face.small, face.latent,
                       face.base)
    monkeypatch.setattr(type(editor), "decode", lambda self, f, step_sets: np.stack(
        [f.base + (80.0 if s.get("eyeglasses", 0) < 0 else 0.0) for s in step_sets]))
    lit = luma(editor.render(dark, {"eyeglasses": -2.5}))
    assert lit[lenses].mean() == pytest.approx(LENS_LEVEL * lit[cheeks].mean(), abs=3)


def test_glasses_tint_clears_or_darkens_the_lenses_and_bad_tints_are_refused(editor, face,
                                                                             monkeypatch):
    eye = np.rint(face.aligned.face.points5[0]).astype(int)
    readings = {}
    for tint in (0.1, 1.0):
        monkeypatch.setattr(editor, "glasses_tint", tint)
        w = editor.weight(face, ["eyeglasses"], steps={"eyeglasses": 2.0})
        readings[tint] = float(w[eye[1], eye[0]])
        crop = editor.render(face, {"eyeglasses": 2.0}).astype(float)
        readings[tint, "eye"] = crop[eye[1] - 2:eye[1] + 3, eye[0] - 2:eye[0] + 3].mean()
    assert readings[0.1] == pytest.approx(0.1, abs=1e-3)
    assert readings[1.0] == pytest.approx(1.0, abs=1e-3)
    assert readings[0.1, "eye"] != readings[1.0, "eye"]  # the lens over the eye differs
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ConfigError, match="glasses tint"):
            editor.glasses_tint = bad
    with pytest.raises(ConfigError, match="glasses tint"):
        Editor(editor.model, editor.directions, detector=editor.detector, glasses_tint=2.0)


def test_the_glasses_frame_gain_is_part_of_the_cached_weight(editor, face, monkeypatch):
    weights = []
    for gain in (1.0, 2.5):
        monkeypatch.setattr(editor, "glasses_frame_gain", gain)
        weights.append(editor.weight(face, ["eyeglasses"], steps={"eyeglasses": 2.0}).max())
    assert weights[0] <= 1.0 + 1e-5 and weights[1] > 2.0  # not the first gain's cached weight


def test_a_face_that_wears_glasses_gets_no_fitted_pair_over_them(editor, face, monkeypatch):
    """Any edit that adds glasses (raw or explicit targets, the server's sliders) keeps the
    model's change in the eye band on a face read as wearing glasses, and cuts a pair otherwise."""
    band = editor.weight(face, ["eyeglasses"])
    for reading, pair in ((0.3, True), (0.7, False)):
        face._cache.clear()
        monkeypatch.setattr(editor, "_unedited_reading", lambda f, label: reading)
        added = editor.weight(face, ["eyeglasses"], steps={"eyeglasses": 2.0})
        assert (not np.array_equal(added, band)) == pair
    face._cache.clear()


def test_a_model_that_draws_frames_adds_glasses_in_the_whole_eye_band(editor, face, monkeypatch):
    monkeypatch.setattr(editor.model, "draws_frames", True)  # as a StyleGAN2 generator does
    np.testing.assert_array_equal(
        editor.weight(face, ["eyeglasses"], steps={"eyeglasses": 2.0}),
        editor.weight(face, ["eyeglasses"]))


def test_two_attributes_in_one_edit_use_the_union_of_their_regions(editor, face, astronaut):
    mouth, eyes = editor.weight(face, ["smiling"]), editor.weight(face, ["eyeglasses"])
    union = editor.weight(face, ["smiling", "eyeglasses"])
    np.testing.assert_allclose(union, np.maximum(mouth, eyes), atol=1e-6)
    assert (mouth > 0).any() and (eyes > 0).any() and not ((mouth > 0) & (eyes > 0)).all()

    result = editor.edit(astronaut, {"smile": 2.0, "glasses": 2.0}, raw=True, faces=[face])
    assert result.steps == [{"smiling": 2.0, "eyeglasses": 2.0}]
    changed = _changed(result.crops[0], face.aligned.crop)
    assert not changed[union == 0].any()
    assert changed[(mouth > 0) & (eyes == 0)].any() and changed[(eyes > 0) & (mouth == 0)].any()

    in_photo = _changed(result.photo, astronaut)
    assert not in_photo[warp_mask_to_photo(face.aligned, union) == 0].any()


def test_calibrated_pair_reaches_both_targets(editor, face, astronaut):
    result = editor.edit(astronaut, {"smiling": 0.8, "eyeglasses": 0.7}, faces=[face])
    assert result.after[0]["smiling"] == pytest.approx(0.8, abs=0.05)
    assert result.after[0]["eyeglasses"] == pytest.approx(0.7, abs=0.05)


# -- strengths ---------------------------------------------------------------------------------

@pytest.mark.parametrize("strengths, raw, message", [
    ({"wings": 0.5}, False, "unknown attribute 'wings'"),
    ({"smiling": 1.5}, False, "target probability in [0, 1]"),
    ({"smiling": -0.1}, False, "target probability in [0, 1]"),
    ({"smiling": float("nan")}, False, "finite"),
    ({"smiling": float("inf")}, True, "finite"),
    ({"smiling": "a lot"}, False, "expected a number"),
    ({"smiling": None}, True, "expected a number"),
    ({"smiling": 12.5}, True, "outside [-12.0, 12.0]"),
    ({"eyeglasses": -13}, True, "outside [-12.0, 12.0]"),
    ({"age": 150}, False, "target age in years"),
    ({"bald": 0.5}, False, "has no direction"),
])
def test_bad_strengths_are_config_errors_before_any_work(editor, strengths, raw, message):
    # A faceless photo: the strengths must be refused before detection is even tried.
    with pytest.raises(ConfigError) as error:
        editor.edit(data.coffee(), strengths, raw=raw)
    assert message in str(error.value)


def test_raw_steps_up_to_the_bound_are_accepted(editor):
    assert editor.parse_strengths({"smile": -12, "glasses": "3.5"}, raw=True) == \
        {"smiling": -12.0, "eyeglasses": 3.5}


def test_custom_attribute_needs_raw_steps(editor, face, astronaut):
    ds = tiny_directions()
    extra = np.linalg.qr(np.column_stack([ds.vectors.T, np.ones(LATENT)]))[0][:, -1]
    ds.add("freckles", extra, scale=1.0, group="custom", regions=["skin"])
    custom = Editor(editor.model, ds, judge=editor.judge, detector=editor.detector,
                    blend_size=BLEND)
    with pytest.raises(ConfigError, match="raw steps"):
        custom.edit(astronaut, {"freckles": 0.5}, faces=[face])
    result = custom.edit(astronaut, {"freckles": 2.0}, raw=True, faces=[face])
    assert _changed(result.photo, astronaut).any()
    assert result.after == [{}] and result.before == [{}]


def test_calibrated_strengths_without_a_judge_are_refused(editor, face, astronaut):
    blind = Editor(editor.model, editor.directions, detector=editor.detector, blend_size=BLEND)
    with pytest.raises(ConfigError, match="need a judge"):
        blind.edit(astronaut, {"smiling": 0.8}, faces=[face])
    assert _changed(blind.edit(astronaut, {"smiling": 2}, raw=True, faces=[face]).photo,
                    astronaut).any()


# -- calibration -------------------------------------------------------------------------------

def test_calibration_reaches_the_target_reading(editor, face, astronaut):
    result = editor.edit(astronaut, {"smiling": 0.8}, faces=[face])
    assert result.before[0]["smiling"] == pytest.approx(0.5, abs=0.01)
    assert result.after[0]["smiling"] == pytest.approx(0.8, abs=0.05)
    assert 0.0 < result.steps[0]["smiling"] < 3.0
    # Lower targets need smaller steps; below the current reading they go the other way.
    lower = editor.edit(astronaut, {"smiling": 0.65}, faces=[face])
    assert 0.0 < lower.steps[0]["smiling"] < result.steps[0]["smiling"]
    assert lower.after[0]["smiling"] == pytest.approx(0.65, abs=0.05)


@pytest.mark.parametrize("target, step", [(1.0, 3.0), (0.0, -3.0)])
def test_out_of_reach_targets_take_the_largest_step(editor, face, astronaut, target, step):
    result = editor.edit(astronaut, {"smiling": target}, faces=[face])
    assert result.steps[0]["smiling"] == step
    assert abs(result.after[0]["smiling"] - target) < abs(result.before[0]["smiling"] - target)


def test_calibrated_age(editor, face, astronaut):
    result = editor.edit(astronaut, {"age": 40.0}, faces=[face])
    assert result.before[0]["age"] == pytest.approx(40.0, abs=0.5)
    assert result.steps == [{"age": 0.0}]


# -- sweeps and morphs -------------------------------------------------------------------------

def test_sweep_grows_from_nothing_to_the_edit(editor, face):
    frames = editor.sweep(face, {"smiling": 2.0}, 4)
    assert len(frames) == 4 and all(f.shape == (BLEND, BLEND, 3) for f in frames)
    np.testing.assert_array_equal(frames[0], face.aligned.crop)
    np.testing.assert_array_equal(frames[-1], editor.render(face, {"smiling": 2.0}))
    assert _changed(frames[-1], frames[0]).any()
    with pytest.raises(ConfigError, match="at least 2"):
        editor.sweep(face, {"smiling": 2.0}, 1)


def test_mirror_of_the_mirror_is_the_original(editor, face):
    mirror = editor.mirror_face(face)
    np.testing.assert_array_equal(mirror.aligned.crop, face.aligned.crop[:, ::-1])
    back = editor.mirror_face(mirror)
    np.testing.assert_array_equal(back.aligned.crop, face.aligned.crop)
    np.testing.assert_allclose(back.latent, face.latent, atol=1e-5)


def test_morph_ends_exactly_on_both_faces(editor, face, astronaut):
    other = editor.encode(np.ascontiguousarray(astronaut[24:, 8:]))[0]
    frames = editor.morph(face, other, 5)
    assert len(frames) == 5
    assert all(f.shape == (BLEND, BLEND, 3) and f.dtype == np.uint8 for f in frames)
    np.testing.assert_array_equal(frames[0], face.aligned.crop)
    np.testing.assert_array_equal(frames[-1], other.aligned.crop)
    assert _changed(frames[2], frames[0]).any() and _changed(frames[2], frames[-1]).any()

    mirrored = editor.morph(face, editor.mirror_face(face), 3)
    np.testing.assert_array_equal(mirrored[-1], face.aligned.crop[:, ::-1])
    with pytest.raises(ConfigError, match="at least 2"):
        editor.morph(face, other, 1)


def test_a_mirror_morph_keeps_one_side_of_the_background_per_half(editor, face):
    from facedit.morph import morph_frame

    mirror = editor.mirror_face(face)
    middle = editor.morph_at(face, mirror, [0.5])[0]
    pa, pb = face.aligned.face.mesh[:, :2], mirror.aligned.face.mesh[:, :2]
    plain = morph_frame(face.aligned.crop, pa, mirror.aligned.crop, pb, 0.5)
    halves = morph_frame(face.aligned.crop, pa, mirror.aligned.crop, pb, 0.5, mirror=True)
    np.testing.assert_array_equal(middle, halves)  # the editor knows b is a's mirror
    assert _changed(halves, plain).any()
    # A morph into another face is a plain mix.
    other = editor.encode_aligned([mirror.aligned])[0]
    np.testing.assert_array_equal(editor.morph_at(face, other, [0.5])[0], plain)


# -- the editing commands ----------------------------------------------------------------------

def _invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _assert_one_line_error(result, expected: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("facedit: error: ") and expected in lines[0], lines[0]
    assert "Traceback" not in result.output


@pytest.fixture
def tiny_cli(monkeypatch, editor):
    """Every editing command gets the tiny editor instead of the shipped model."""
    monkeypatch.setattr("facedit.cli._editor", lambda model: editor)
    return editor


@pytest.fixture(scope="module")
def photo_file(tmp_path_factory, astronaut):
    return save_image(tmp_path_factory.mktemp("photos") / "astronaut.png", astronaut)


@pytest.mark.parametrize("args, message", [
    (["--wings", "0.5"], "unknown attribute 'wings'"),
    (["--smile", "2"], "target probability in [0, 1]"),
    (["--smile", "lots"], "expected a number"),
    (["--smile=nan"], "finite"),
    (["--raw", "--smile", "40"], "outside [-12.0, 12.0]"),
    (["--smile"], "--smile: missing its value"),
    (["--smile", "0.9", "stray"], "unexpected argument 'stray'"),
])
def test_edit_command_with_bad_attributes_is_one_line_and_exit_2(tiny_cli, photo_file, tmp_path,
                                                                args, message):
    result = _invoke("edit", photo_file, *args, "-o", tmp_path / "out.png")
    _assert_one_line_error(result, message)
    assert not (tmp_path / "out.png").exists()


def test_edit_command_checks_values_before_looking_for_a_face(tiny_cli, tmp_path):
    faceless = save_image(tmp_path / "coffee.png", data.coffee())
    _assert_one_line_error(_invoke("edit", faceless, "--smile", "2"), "target probability")


def test_edit_command_without_attributes_prints_usage(photo_file):
    result = _invoke("edit", photo_file)
    assert result.exit_code == 2
    assert "Usage: " in result.output and "name at least one attribute" in result.output


def test_edit_command_end_to_end(tiny_cli, photo_file, astronaut, tmp_path):
    out, gif, grid = tmp_path / "edited.png", tmp_path / "edit.gif", tmp_path / "edit.png"
    result = _invoke("edit", photo_file, "--smile", "0.8", "--glasses=0.7", "-o", out,
                     "--frames", "3", "--gif", gif, "--grid", grid)
    assert result.exit_code == 0, result.output
    line = result.stdout.splitlines()[0]
    assert line.startswith("face 0: smiling: 0.50 -> 0.") and "; eyeglasses: 0.50 -> 0." in line
    edited = load_image(out)
    assert edited.shape == astronaut.shape and _changed(edited, astronaut).any()
    import imageio.v3 as iio
    assert iio.imread(gif, index=None).shape == (4, 512, 512, 3)  # 3 frames there and back
    assert load_image(grid).shape == (260, 3 * 258 + 2, 3)


def test_edit_command_raw_negative_step(tiny_cli, photo_file, astronaut, tmp_path):
    out = tmp_path / "raw.png"
    result = _invoke("edit", photo_file, "--raw", "--smile", "-2", "-o", out)
    assert result.exit_code == 0, result.output
    assert "(step -2.00)" in result.stdout
    assert _changed(load_image(out), astronaut).any()


@pytest.mark.parametrize("command, default_name", [
    (["smile", "--strength", "0.8"], "astronaut_smile.png"),
    (["glasses", "--remove"], "astronaut_glasses_off.png"),
])
def test_smile_and_glasses_commands(tiny_cli, tmp_path, astronaut, command, default_name):
    photo = save_image(tmp_path / "astronaut.png", astronaut)
    result = _invoke(command[0], photo, *command[1:])
    assert result.exit_code == 0, result.output
    assert load_image(tmp_path / default_name).shape == astronaut.shape


def test_glasses_command_takes_a_tint(tiny_cli, photo_file, astronaut, tmp_path, monkeypatch):
    monkeypatch.setattr(tiny_cli, "glasses_tint", tiny_cli.glasses_tint)  # restored afterwards
    outs = {}
    for tint in ("0.1", "1"):
        outs[tint] = tmp_path / f"glasses_{tint}.png"
        result = _invoke("glasses", photo_file, "--add", "--tint", tint, "-o", outs[tint])
        assert result.exit_code == 0, result.output
        assert tiny_cli.glasses_tint == float(tint)
    clear, dark = load_image(outs["0.1"]), load_image(outs["1"])
    assert _changed(clear, astronaut).any() and _changed(clear, dark).any()
    result = _invoke("glasses", photo_file, "--tint", "1.5")
    assert result.exit_code == 2 and "--tint" in result.output


def test_mirror_command_writes_photo_gif_and_grid(tiny_cli, photo_file, astronaut, tmp_path):
    import imageio.v3 as iio

    out, gif, grid = tmp_path / "m.png", tmp_path / "m.gif", tmp_path / "m_grid.png"
    result = _invoke("mirror", photo_file, "-o", out, "--gif", gif, "--grid", grid,
                     "--frames", "4")
    assert result.exit_code == 0, result.output
    mirrored = load_image(out)
    assert mirrored.shape == astronaut.shape and _changed(mirrored, astronaut).any()
    frames = iio.imread(gif, index=None)
    assert frames.shape == (6, 512, 512, 3)  # 4 frames there, 2 back
    assert load_image(grid).shape == (260, 4 * 258 + 2, 3)


def test_interpolate_command(tiny_cli, photo_file, astronaut, tmp_path):
    other = save_image(tmp_path / "other.png", np.ascontiguousarray(astronaut[:, ::-1]))
    result = _invoke("interpolate", photo_file, other, "-o", tmp_path / "mid.png",
                     "--frames", "3", "--crops", "--grid", tmp_path / "grid.png")
    assert result.exit_code == 0, result.output
    assert load_image(tmp_path / "mid.png").shape == astronaut.shape
    assert load_image(tmp_path / "grid.png").shape == (260, 3 * 258 + 2, 3)


# -- `facedit directions add` ------------------------------------------------------------------

@pytest.fixture
def shipped(monkeypatch, tmp_path, editor, detector):
    """Editor.load() builds the tiny editor: the tiny backend, its directions saved as the shipped
    ones, the fake judge and the session's detector; user directions go under tmp_path."""
    weights = tmp_path / "weights"
    editor.directions.save(weights / "vae" / "directions")
    monkeypatch.setattr("facedit.models.WEIGHTS", weights)
    monkeypatch.setattr("facedit.models.backend.load_backend", lambda spec="builtin": editor.model)
    monkeypatch.setattr("facedit.judge.Judge", lambda: editor.judge)
    monkeypatch.setattr("facedit.faces.FaceDetector", lambda: detector)
    monkeypatch.setenv("FACEDIT_HOME", str(tmp_path / "home"))
    return editor


def _examples(folder, astronaut, mirror: bool, count: int = 3):
    """The astronaut (or its mirror) and small shifts and crops of it."""
    image = np.ascontiguousarray(astronaut[:, ::-1]) if mirror else astronaut
    variants = [image, image[16:, 16:], image[:-24, 8:], np.roll(image, 12, axis=0)]
    for i, v in enumerate(variants[:count]):
        save_image(folder / f"{i}.png", np.ascontiguousarray(v))
    return folder


def test_directions_add_is_orthogonal_merged_and_raw_only(shipped, tmp_path, astronaut,
                                                          photo_file):
    pos = _examples(tmp_path / "pos", astronaut, mirror=False)
    neg = _examples(tmp_path / "neg", astronaut, mirror=True)
    result = _invoke("directions", "add", "Lefty", "--pos", pos, "--neg", neg, "--region", "face")
    assert result.exit_code == 0, result.output
    assert "added 'Lefty' (3 positive, 3 negative photos)" in result.stdout

    user = DirectionSet.load(user_directions("builtin"))
    assert user.names == ["lefty"] and user.meta["lefty"]["regions"] == ["face"]
    new = user["lefty"]
    assert np.linalg.norm(new) == pytest.approx(1.0, abs=1e-5)
    assert np.abs(shipped.directions.vectors @ new).max() < 1e-5

    loaded = Editor.load(blend_size=BLEND)
    assert loaded.directions.names == list(NAMES) + ["lefty"]
    np.testing.assert_array_equal(loaded.directions["lefty"], new)
    attr = loaded.attribute("Lefty")
    assert (attr.group, attr.regions) == ("custom", ("face",))

    face = loaded.encode(astronaut)[0]
    edited = loaded.edit(astronaut, {"lefty": 2.0}, raw=True, faces=[face])
    changed = _changed(edited.photo, astronaut)
    assert changed.any()
    assert not changed[warp_mask_to_photo(face.aligned, loaded.weight(face, ["lefty"])) == 0].any()
    with pytest.raises(ConfigError, match="raw steps"):
        loaded.edit(astronaut, {"lefty": 0.9}, faces=[face])

    refused = _invoke("edit", photo_file, "--lefty", "0.9", "-o", tmp_path / "x.png")
    _assert_one_line_error(refused, "--raw")
    ok = _invoke("edit", photo_file, "--raw", "--lefty", "1.5", "-o", tmp_path / "x.png")
    assert ok.exit_code == 0, ok.output
    assert "lefty: nan -> nan (step +1.50)" in ok.stdout


def test_directions_add_with_too_few_photos_is_a_clear_error(shipped, tmp_path, astronaut):
    pos = _examples(tmp_path / "pos", astronaut, mirror=False, count=2)
    save_image(pos / "coffee.png", data.coffee())  # no face: skipped, not counted
    neg = _examples(tmp_path / "neg", astronaut, mirror=True)
    result = _invoke("directions", "add", "lefty", "--pos", pos, "--neg", neg)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.stderr.strip().splitlines()[-1] == \
        f"facedit: error: {pos}: need at least 3 photos with a face, found 2"  # after the progress
    assert not user_directions("builtin").exists()


@pytest.mark.parametrize("name, message", [
    ("smiling", "built-in attribute"), ("two words", "letters, digits and underscores"),
])
def test_directions_add_refuses_bad_names(shipped, tmp_path, name, message):
    result = _invoke("directions", "add", name, "--pos", tmp_path, "--neg", tmp_path)
    _assert_one_line_error(result, message)


def test_directions_add_again_replaces_the_direction(shipped, tmp_path, astronaut):
    pos = _examples(tmp_path / "pos", astronaut, mirror=False)
    neg = _examples(tmp_path / "neg", astronaut, mirror=True)
    directions = []
    for _ in range(2):
        assert _invoke("directions", "add", "lefty", "--pos", pos, "--neg", neg).exit_code == 0
        directions.append(DirectionSet.load(user_directions("builtin"))["lefty"].copy())
    assert directions[0] @ directions[1] == pytest.approx(1.0, abs=1e-4)


def test_directions_add_refuses_alias_names(shipped, tmp_path):
    result = _invoke("directions", "add", "smile", "--pos", tmp_path, "--neg", tmp_path)
    _assert_one_line_error(result, "built-in attribute")
