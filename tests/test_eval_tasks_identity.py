"""Evaluation tasks, labels and the identity model."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from facedit.errors import ConfigError, ShapeError, WeightsError
from facedit.eval import identity as identity_mod
from facedit.eval.identity import cosine_similarity, load_identity
from facedit.eval.tasks import Photo, parse_edits, read_labels, select


def test_parse_edits_sides_and_mirror():
    tasks = parse_edits("smile+, eyeglasses ,mirror")
    assert [t.name for t in tasks] == ["smiling_add", "eyeglasses_add", "eyeglasses_remove",
                                       "mirror"]
    assert tasks[0].adds and tasks[0].label == "Smiling" and tasks[0].target == 0.95
    assert not tasks[2].adds and tasks[2].target == 0.05
    assert tasks[3].is_mirror and tasks[3].wants(True) and tasks[3].wants(False)
    assert [t.name for t in parse_edits("glasses-")] == ["eyeglasses_remove"]
    with pytest.raises(ConfigError, match="unknown attribute"):
        parse_edits("smile,wings")
    with pytest.raises(ConfigError, match="twice"):
        parse_edits("smile+,smiling+")
    with pytest.raises(ConfigError, match="no yes/no label"):
        parse_edits("age")
    with pytest.raises(ConfigError):
        parse_edits(" , ")


def test_parse_edits_targets():
    add, remove = parse_edits("eyeglasses", add_target=0.99, remove_target=0.02)
    assert (add.target, remove.target) == (0.99, 0.02) and add.adds and not remove.adds
    for bad in ({"add_target": 0.5}, {"add_target": 1.0}, {"remove_target": 0.5},
                {"remove_target": 0.0}, {"add_target": float("nan")}):
        with pytest.raises(ConfigError, match="target"):
            parse_edits("smile", **bad)


def test_read_labels(tmp_path):
    f = tmp_path / "labels.csv"
    f.write_text("name,smile,Eyeglasses\na.jpg,1,-1\nb.jpg,0,true\n")
    assert read_labels(f) == {"a.jpg": {"Smiling": True, "Eyeglasses": False},
                              "b.jpg": {"Smiling": False, "Eyeglasses": True}}
    f.write_text("a.jpg,1\n")
    with pytest.raises(ConfigError, match="expected a header"):
        read_labels(f)
    f.write_text("name,Smiling\na.jpg,maybe\n")
    with pytest.raises(ConfigError, match=r"labels.csv:2: expected 1/-1"):
        read_labels(f)
    with pytest.raises(ConfigError, match="not a file"):
        read_labels(tmp_path / "none.csv")


def test_select_inputs_lack_the_target_and_references_have_it():
    photos = [Photo(Path(f"{i}.jpg"), {"Smiling": i % 3 == 0}) for i in range(12)]
    task = parse_edits("smile+")[0]
    inputs, refs = select(photos, task, 3, lambda p: p.labels["Smiling"])
    assert [p.path.name for p in inputs] == ["1.jpg", "2.jpg", "4.jpg"]
    assert [p.path.name for p in refs] == ["9.jpg", "6.jpg", "3.jpg"]
    mirror = parse_edits("mirror")[0]
    inputs, refs = select(photos, mirror, 5, lambda p: True)
    assert len(inputs) == 5 and {p.path for p in inputs}.isdisjoint({p.path for p in refs})


def test_select_takes_references_from_a_pool_never_an_input():
    photos = [Photo(Path(f"t{i}.jpg"), {"Smiling": i % 2 == 0}) for i in range(6)]
    held = [Photo(Path(f"v{i}.jpg"), {"Smiling": i % 2 == 0}) for i in range(6)]
    task = parse_edits("smile+")[0]
    inputs, refs = select(photos, task, 2, lambda p: p.labels["Smiling"], photos + held, 4)
    assert [p.path.name for p in inputs] == ["t1.jpg", "t3.jpg"]
    # from the pool's end (the other split first), at most 4, all smiling
    assert [p.path.name for p in refs] == ["v4.jpg", "v2.jpg", "v0.jpg", "t4.jpg"]
    mirror = parse_edits("mirror")[0]
    inputs, refs = select(photos, mirror, 5, lambda p: True, photos + held, 3)
    assert [p.path.name for p in refs] == ["t5.jpg", "v0.jpg", "v1.jpg"]


def test_cosine_similarity_known_values():
    a = np.array([[1.0, 0.0], [1.0, 1.0], [np.nan, 0.0]])
    b = np.array([[2.0, 0.0], [-1.0, -1.0], [1.0, 0.0]])
    sim = cosine_similarity(a, b)
    assert sim[:2] == pytest.approx([1.0, -1.0])
    assert np.isnan(sim[2])
    with pytest.raises(ShapeError):
        cosine_similarity(a, b[:2])


def test_identity_absent_gives_the_install_command(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(identity_mod.importlib.util, "find_spec",
                        lambda name, *a: None if name == "dlib" else real(name, *a))
    with pytest.raises(WeightsError, match=r"facedit\[eval\]"):
        load_identity()
    with pytest.raises(WeightsError, match="unknown"):
        load_identity("arcface")


@pytest.fixture(scope="module")
def identity():
    try:
        return load_identity()
    except WeightsError as exc:
        pytest.skip(str(exc))


def test_identity_of_identical_images_is_one_and_of_another_face_lower(identity, astronaut,
                                                                        astronaut_aligned):
    crop, face = astronaut_aligned.crop, astronaut_aligned.face
    emb = identity.embed(np.stack([crop, crop]), [face, face])
    assert emb.shape == (2, 128)
    assert cosine_similarity(emb[:1], emb[1:])[0] == pytest.approx(1.0, abs=1e-9)
    # The same face, darker and blurred, stays the same person by dlib's 0.6 rule; a face-sized
    # patch of noise with the same landmarks does not.
    changed = (crop * 0.8).astype(np.uint8)
    noise = np.random.default_rng(0).integers(0, 256, crop.shape, dtype=np.uint8)
    other = identity.embed(np.stack([changed, noise]), [face, face])
    assert np.linalg.norm(other[0] - emb[0]) < identity_mod.DLIB_SAME_PERSON
    assert cosine_similarity(emb[:1], other[1:])[0] < cosine_similarity(emb[:1], other[:1])[0]
    with pytest.raises(ShapeError):
        identity.embed(crop[None].astype(np.float32), [face])
