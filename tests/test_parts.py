"""Part models (`facedit.parts`): the box, its feathered weight, and the editor drawing a part's
attributes with the part model inside the box and with the face model everywhere else."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from facedit.directions import DirectionSet
from facedit.edit import Editor
from facedit.errors import ConfigError, ShapeError, WeightsError
from facedit.models.backend import TorchVAEBackend, load_backend
from facedit.models.store import save_model
from facedit.models.vae import FaceVAE, VAEConfig
from facedit.parts import PARTS, Part, PartBackend, PartModel, compose, load_part

from test_edit import LATENT, NAMES, tiny_backend

MOUTH = PARTS["mouth"]
PART_VAE = VAEConfig(size=16, latent=8, enc_channels=(8, 8, 16), dec_channels=(16, 8),
                     dec_extra=(0, 0))

pytestmark = pytest.mark.usefixtures("one_thread")


def test_mouth_box_pixels_and_cut():
    assert MOUTH.pixels(128) == (32, 64, 96, 128)
    assert MOUTH.side(128) == 64 and MOUTH.side(32) == 16
    crops = np.arange(2 * 128 * 128 * 3, dtype=np.int64).reshape(2, 128, 128, 3)
    cut = MOUTH.cut(crops)
    assert cut.shape == (2, 64, 64, 3) and cut.flags.c_contiguous
    assert (cut[1, 0, 0] == crops[1, 64, 32]).all()


@pytest.mark.parametrize("name", sorted(PARTS))
def test_every_part_is_a_square_box_a_part_vae_can_take(name):
    part = PARTS[name]
    x0, y0, x1, y1 = part.pixels(128)
    assert 0 <= x0 < x1 <= 128 and 0 <= y0 < y1 <= 128
    assert x1 - x0 == y1 - y0 and (x1 - x0) % 16 == 0  # four halvings in the part VAE
    assert part.crop_side(part.side(128)) == 128


def test_the_eye_box_holds_both_eyes_and_a_pair_of_glasses():
    from facedit.align import template_points

    x0, y0, x1, y1 = PARTS["eyes"].pixels(128)
    eyes = template_points(128)
    assert (eyes[:, 0] > x0 + 20).all() and (eyes[:, 0] < x1 - 20).all()
    assert (eyes[:, 1] > y0 + 20).all() and (eyes[:, 1] < y1 - 20).all()
    assert PARTS["eyes"].attributes == ("eyeglasses",) and not PARTS["eyes"].removal


def test_weight_is_one_inside_zero_outside_and_smooth_at_the_edge():
    w = MOUTH.weight(128)
    assert w.shape == (128, 128) and w.dtype == np.float32
    assert w[:64].max() == 0 and w[:, :32].max() == 0 and w[:, 96:].max() == 0
    assert w[96, 64] == 1.0  # the box's middle
    row = w[96, 32:64]
    assert (np.diff(row) >= 0).all() and 0 < row[1] < 1  # a ramp, no step


def test_compose_keeps_everything_outside_the_box_and_puts_the_part_inside():
    full = np.full((128, 128, 3), 10.0, np.float32)
    part = np.full((64, 64, 3), 200.0, np.float32)
    w = MOUTH.weight(128)
    out = compose(full, part, MOUTH)
    assert (out[w == 0] == 10).all() and np.allclose(out[w == 1], 200)
    with pytest.raises(ShapeError, match="mouth box of 64x64"):  # the box at another size
        compose(full, part[:32, :32], MOUTH)


def _part_model(attributes=("smiling",)) -> PartModel:
    """A part model of the mouth box for the 32 px tiny face model (16 px box), random weights."""
    part = Part("mouth", MOUTH.box, attributes, MOUTH.feather)
    with torch.random.fork_rng():
        torch.manual_seed(1)
        model = FaceVAE(PART_VAE)
    with torch.no_grad():
        model.fc_mu.weight.mul_(25.0)
    backend = PartBackend(part, TorchVAEBackend(model, 16, 8, "tiny-part"), "tiny-part")
    q, _ = np.linalg.qr(np.random.default_rng(2).normal(size=(8, 1)))
    return PartModel(backend, DirectionSet([attributes[0]], q.T, {attributes[0]: {"scale": 20.0}}))


def _tiny_directions() -> DirectionSet:
    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(LATENT, len(NAMES))))
    return DirectionSet(list(NAMES), q.T, {n: {"scale": 20.0} for n in NAMES})


@pytest.fixture(scope="module")
def editors(astronaut, detector):
    plain = Editor(tiny_backend(), _tiny_directions(), detector=detector, blend_size=64)
    parted = Editor(plain.model, plain.directions, detector=detector, blend_size=64,
                    parts=[_part_model()])
    return plain, parted, parted.encode(astronaut)[0]


def test_steps_the_part_does_not_draw_decode_as_without_it(editors):
    plain, parted, face = editors
    steps = [{"eyeglasses": 1.5}, {"young": -1.0, "smiling": 0.0}]
    assert np.array_equal(parted.decode(face, steps), plain.decode(face, steps))


def test_the_part_draws_its_attribute_inside_the_box_and_the_face_model_outside(editors):
    plain, parted, face = editors
    model = parted.parts[0]
    w = model.part.weight(32)
    ours = parted.decode(face, [{"smiling": 1.0}])[0]
    theirs = plain.decode(face, [{"smiling": 1.0}])[0]
    assert np.array_equal(ours[w == 0], theirs[w == 0])
    z, base = parted._part_code(face, model)
    drawn = model.backend.decode((z + model.directions.step("smiling"))[None])[0]
    inside = face.base[16:32, 8:24] + drawn - base  # the box at 32 px: x 8..24, y 16..32
    assert np.allclose(ours[16:32, 8:24][w[16:32, 8:24] == 1], inside[w[16:32, 8:24] == 1],
                       atol=1e-4)
    assert not np.allclose(ours, theirs)


def test_with_other_steps_the_box_carries_their_decoding_plus_the_parts_change(editors):
    _, parted, face = editors
    model = parted.parts[0]
    w = model.part.weight(32)[16:32, 8:24]
    both = parted.decode(face, [{"smiling": 1.0, "young": 1.0}])[0][16:32, 8:24]
    young = parted.decode(face, [{"young": 1.0}])[0][16:32, 8:24]
    z, base = parted._part_code(face, model)
    change = model.backend.decode((z + model.directions.step("smiling"))[None])[0] - base
    assert np.allclose(both[w == 1], (young + change)[w == 1], atol=1e-4)


def test_overlapping_parts_each_add_their_own_change_in_any_order(editors):
    plain, parted, face = editors
    glasses = _part_model(("eyeglasses",))  # the same box, so they overlap everywhere in it
    steps = [{"smiling": 1.0, "eyeglasses": 1.0}]
    one_way, other_way = (Editor(plain.model, plain.directions, detector=plain.detector,
                                 blend_size=64, parts=parts).decode(face, steps)[0]
                          for parts in ([parted.parts[0], glasses], [glasses, parted.parts[0]]))
    assert np.allclose(one_way, other_way, atol=1e-4)
    whole = plain.decode(face, steps)[0]
    alone = [Editor(plain.model, plain.directions, detector=plain.detector, blend_size=64,
                    parts=[p]).decode(face, steps)[0] - whole for p in (parted.parts[0], glasses)]
    assert np.allclose(one_way, whole + alone[0] + alone[1], atol=1e-4)


def test_a_removal_is_the_face_models_unless_the_part_draws_removals(editors):
    plain, parted, face = editors
    steps = [{"smiling": -1.0}, {"smiling": -2.0, "young": 1.0}]
    assert np.array_equal(parted.decode(face, steps), plain.decode(face, steps))
    model = parted.parts[0]
    both = Editor(plain.model, plain.directions, detector=plain.detector, blend_size=64,
                  parts=[PartModel(PartBackend(dataclasses.replace(model.part, removal=True),
                                               model.backend.vae, "tiny-part"),
                                   model.directions)])
    assert not np.allclose(both.decode(face, steps[:1]), plain.decode(face, steps[:1]))


def test_an_edit_with_a_part_and_all_strengths_zero_returns_the_photo(editors, astronaut):
    _, parted, _ = editors
    out = parted.edit(astronaut, {"smiling": 0.0, "eyeglasses": 0.0}, raw=True).photo
    assert np.array_equal(out, astronaut)


def test_a_part_model_cut_for_another_crop_size_is_refused(editors, detector):
    plain, _, _ = editors
    model = _part_model()
    model.backend.size = 64
    with pytest.raises(ConfigError, match="64 px"):
        Editor(plain.model, plain.directions, detector=detector, parts=[model])


def test_part_folder_round_trip_and_a_face_models_folder_is_not_a_part(tmp_path):
    model = _part_model()
    card = {"part": {"name": "mouth", "box": list(MOUTH.box), "attributes": ["smiling"],
                     "feather": MOUTH.feather}}
    save_model(tmp_path / "mouth", model.backend.vae.model, PART_VAE, card)
    model.directions.save(tmp_path / "mouth" / "directions")
    loaded = load_part(tmp_path / "mouth")
    assert loaded.part == MOUTH and loaded.draws("smiling", 1.0)
    assert not loaded.draws("young", 1.0) and not loaded.draws("smiling", 0.0)
    crops = np.random.default_rng(0).integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    backend = load_backend(f"part:{tmp_path / 'mouth'}")
    assert backend.size == 32 and backend.encode(crops).shape == (2, 8)
    assert backend.decode(backend.encode(crops)).shape == (2, 16, 16, 3)
    save_model(tmp_path / "face", FaceVAE(PART_VAE), PART_VAE, {"model": "a face VAE"})
    with pytest.raises(WeightsError, match="not a part model"):
        load_part(tmp_path / "face")
    with pytest.raises(ConfigError, match="part:FOLDER"):
        load_backend("part")
    assert json.loads((tmp_path / "mouth" / "model_card.json").read_text())["part"]["name"] \
        == "mouth"


def test_the_shipped_editor_draws_added_smiles_with_the_shipped_mouth_model():
    shipped = Editor.load("builtin")
    assert [p.part.name for p in shipped.parts] == ["mouth"]
    mouth = shipped.parts[0]
    assert mouth.draws("smiling", 1.0) and not mouth.draws("smiling", -1.0)
    assert mouth.backend.size == shipped.model.size and \
        mouth.directions.dim == mouth.backend.latent_dim
    assert Editor.load("builtin", parts=()).parts == []
