"""`facedit data prepare` on a tiny folder laid out like the shared data, made from the astronaut:
labels and splits carried through, faceless and unreadable images dropped and counted, a run
resumes from its finished chunks, and two runs give the same set."""
import hashlib
import json

import cv2
import numpy as np
import pytest

from facedit.data.dataset import PreparedSet
from facedit.data.sources import CELEBA_ATTRIBUTES


def _jpeg(path, image):
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])


@pytest.fixture(scope="module")
def shared_like(tmp_path_factory, astronaut):
    """celeba/{aligned,wild} + labels, utkface + labels.csv: 3 faces, 1 faceless, 1 corrupt."""
    root = tmp_path_factory.mktemp("shared")
    face = astronaut[20:300, 110:370]
    _jpeg(root / "celeba/aligned/000001.jpg", cv2.resize(face, (89, 109)))
    _jpeg(root / "celeba/aligned/000002.jpg", np.full((109, 89, 3), 128, np.uint8))  # no face
    _jpeg(root / "celeba/wild/182638.jpg", cv2.resize(face[:, ::-1], (140, 150)))
    (root / "celeba/wild/182639.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    names = ["000001.jpg", "000002.jpg", "182638.jpg", "182639.jpg"]
    rows = [f"{n} " + " ".join("1" if (i + k) % 3 == 0 else "-1" for k in range(40))
            for i, n in enumerate(names)]
    (root / "celeba/list_attr_celeba.txt").write_text(
        "\r\n".join([str(len(names)), " ".join(CELEBA_ATTRIBUTES), *rows]) + "\r\n")
    (root / "celeba/identity_CelebA.txt").write_text(
        "\n".join(f"{n} {i + 1}" for i, n in enumerate(names)) + "\n")
    utk = "30_1_0_20170101000000000.jpg.chip.jpg"
    _jpeg(root / "utkface" / utk, cv2.resize(face, (160, 160)))
    (root / "utkface/labels.csv").write_text(f"file,age,gender,race\n{utk},30,1,0\n")
    return root


def _digest(cache):
    return {name: hashlib.sha256((cache / name).read_bytes()).hexdigest()
            for name in ("images.npy", "mesh.npy", "labels.npz")}


def test_prepare_aligns_labels_and_counts_what_it_drops(shared_like, tmp_path):
    from facedit.data.prepare import prepare

    summary = prepare(shared_like, tmp_path / "set", size=64, workers=1)
    assert summary["records"] == 5 and summary["kept"] == 3
    assert summary["dropped_faceless_or_unreadable"] == 2
    assert summary["by_source"]["celeba_aligned"]["kept"] == 1
    assert summary["by_source"]["celeba_wild"]["kept"] == 1
    assert summary["by_source"]["utkface"]["kept"] == 1
    full = PreparedSet.load(tmp_path / "set")
    assert full.images.shape == (3, 64, 64, 3) and full.images.dtype == np.uint8
    assert full.images.reshape(3, -1).std(axis=1).min() > 10  # real crops, not blanks
    labels = np.load(tmp_path / "set" / "labels.npz")
    assert list(labels["name"]) == ["000001.jpg", "182638.jpg",
                                    "30_1_0_20170101000000000.jpg.chip.jpg"]
    expected = [1 if k % 3 == 0 else -1 for k in range(40)]
    assert list(labels["attrs"][0]) == expected  # row of 000001.jpg (index 0)
    assert labels["age"][2] == 30 and labels["gender"][2] == 1
    assert json.loads((tmp_path / "set" / "summary.json").read_text()) == summary


def test_prepare_resumes_from_finished_chunks_and_is_deterministic(shared_like, tmp_path,
                                                                    monkeypatch):
    from facedit.data import prepare as prep

    monkeypatch.setattr(prep, "CHUNK", 2)  # three chunks
    first = prep.prepare(shared_like, tmp_path / "a", size=64, workers=1)
    again = prep.prepare(shared_like, tmp_path / "b", size=64, workers=1)
    assert first == again and _digest(tmp_path / "a") == _digest(tmp_path / "b")
    # An interrupted run: one chunk lost, the set not joined yet. Only that chunk is redone.
    (tmp_path / "a" / "chunks" / "0001.npz").unlink()
    (tmp_path / "a" / "summary.json").unlink()
    done = []
    real = prep._run_chunk
    monkeypatch.setattr(prep, "_run_chunk", lambda job: done.append(job[0]) or real(job))
    assert prep.prepare(shared_like, tmp_path / "a", size=64, workers=1) == first
    assert done == [1]
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
