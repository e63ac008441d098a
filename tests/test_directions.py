"""Direction maths on constructed latents with known answers, and direction files."""
import numpy as np
import pytest

from facedit.directions import (DirectionSet, correlated, linear_boundary, mean_difference,
                                orthogonalize, pca_directions)
from facedit.errors import ConfigError, ShapeError, WeightsError


@pytest.fixture
def labelled():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(2000, 16))
    labels = z[:, 3] + 0.3 * z[:, 5] > 0  # the attribute lives along axes 3 and 5
    return z, labels


def test_mean_difference_points_to_the_attribute(labelled):
    z, labels = labelled
    d = mean_difference(z, labels)
    assert np.isclose(np.linalg.norm(d), 1.0)
    assert np.argmax(np.abs(d)) == 3 and d[3] > 0
    raw = mean_difference(z, labels, normalize=False)
    assert np.allclose(raw, z[labels].mean(0) - z[~labels].mean(0))


def test_linear_boundary_is_the_separating_normal(labelled):
    z, labels = labelled
    d = linear_boundary(z, labels)
    expected = np.zeros(16)
    expected[3], expected[5] = 1, 0.3
    assert np.isclose(np.linalg.norm(d), 1.0)
    assert d @ expected / np.linalg.norm(expected) > 0.98


def test_orthogonalize_removes_the_span():
    rng = np.random.default_rng(1)
    d, others = rng.normal(size=8), rng.normal(size=(3, 8))
    o = orthogonalize(d, others)
    assert np.isclose(np.linalg.norm(o), 1.0)
    assert np.allclose(others @ o, 0, atol=1e-10)
    assert o @ d > 0  # still points the same way
    assert np.allclose(orthogonalize(d, np.zeros((0, 8))), d / np.linalg.norm(d))


def test_pca_directions_are_orthonormal_and_ordered():
    rng = np.random.default_rng(2)
    z = rng.normal(size=(500, 6)) * np.array([5, 3, 1, 1, 1, 1])
    axes, std = pca_directions(z, 3)
    assert np.allclose(axes @ axes.T, np.eye(3), atol=1e-8)
    assert std[0] > std[1] > std[2]
    assert abs(axes[0, 0]) > 0.99


def test_correlated_finds_linked_labels():
    rng = np.random.default_rng(3)
    a = rng.choice([-1, 1], 1000)
    b = np.where(rng.random(1000) < 0.9, a, -a)
    c = rng.choice([-1, 1], 1000)
    assert correlated(np.stack([a, b, c], 1), 0) == [1]


def test_bad_inputs_are_clear_errors(labelled):
    z, labels = labelled
    with pytest.raises(ShapeError, match="labels"):
        mean_difference(z, labels[:10])
    with pytest.raises(ShapeError, match="both"):
        mean_difference(z, np.ones(len(z), bool))
    with pytest.raises(ShapeError, match="others"):
        orthogonalize(np.ones(4), np.ones((2, 5)))


def test_direction_set_round_trip(tmp_path):
    ds = DirectionSet(["smiling"], np.eye(4)[:1], {"smiling": {"scale": 2.0}}, {"model": "t"})
    ds.add("custom", np.eye(4)[1], scale=1.0)
    ds.save(tmp_path / "d")
    back = DirectionSet.load(tmp_path / "d")
    assert back.names == ["smiling", "custom"]
    assert np.allclose(back["custom"], np.eye(4)[1])
    assert back.meta["smiling"]["scale"] == 2.0
    with pytest.raises(ConfigError, match="unknown attribute"):
        back["nope"]
    (tmp_path / "d" / "directions.safetensors").write_bytes(b"junk")
    with pytest.raises(WeightsError):
        DirectionSet.load(tmp_path / "d")


def test_shapes_survive_save_and_load(tmp_path):
    shape = np.random.default_rng(1).normal(size=(478, 2)).astype(np.float32)
    ds = DirectionSet(["smiling", "male"], np.eye(2, 4), shapes={"smiling": shape})
    back = DirectionSet.load(ds.save(tmp_path / "d"))
    assert list(back.shapes) == ["smiling"]
    np.testing.assert_array_equal(back.shapes["smiling"], shape)


def test_a_shape_for_an_unknown_name_is_refused():
    with pytest.raises(ShapeError, match="ghost"):
        DirectionSet(["smiling"], np.eye(1, 4), shapes={"ghost": np.zeros((478, 2))})


def test_a_foreign_model_keeps_its_directions_whatever_its_options(tmp_path, monkeypatch):
    from facedit.directions import directions_folder

    monkeypatch.setenv("FACEDIT_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    plain = directions_folder("stylegan2:ffhq.pt")
    assert directions_folder("stylegan2:ffhq.pt,encoder=enc.pt,steps=20") == plain
    assert directions_folder(f"stylegan2:{tmp_path / 'ffhq.pt'}") == plain
    assert directions_folder("stylegan2:other.pt") != plain
    assert plain.is_relative_to(tmp_path / "home")


def test_shapes_ignore_faces_without_landmarks():
    from facedit.data.sources import CELEBA_ATTRIBUTES
    from facedit.train.directions import learn_shapes

    rng = np.random.default_rng(0)
    n = 400
    attrs = np.where(rng.random((n, 40)) < 0.5, 1, -1).astype(np.int8)
    attrs[:, CELEBA_ATTRIBUTES.index("Mouth_Slightly_Open")] = -1
    smiling = attrs[:, CELEBA_ATTRIBUTES.index("Smiling")] > 0
    mesh = np.full((n, 478, 2), 64.0, np.float32)
    mesh[smiling, :, 1] -= 2.0  # smiling faces: every landmark 2 px higher
    assert learn_shapes(mesh, attrs, 128)["smiling"][:, 1] == pytest.approx(-2.0 / 128)
    mesh[::2] = 0.0  # half the faces lost their landmarks: the answer stays the same
    assert learn_shapes(mesh, attrs, 128)["smiling"][:, 1] == pytest.approx(-2.0 / 128)
    assert learn_shapes(np.zeros_like(mesh), attrs, 128) == {}
