"""The independent probe judge: it learns an attribute that is visible in its region from a tiny
prepared set (and not one that is not), reads NaN where the region is empty, refuses bad data
clearly, and the harness reports its figures only when it is given probe data."""
import json
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from facedit.align import EYE_Y, warp_mask_to_photo
from facedit.cli import main
from facedit.data.sources import CELEBA_ATTRIBUTES, SPLITS
from facedit.errors import ConfigError
from facedit.eval import probe as probe_module
from facedit.eval.harness import EvalConfig, probe_summary, run_evaluation
from facedit.eval.methods import METHODS, Method, MethodOutput
from facedit.eval.metrics import region_features
from facedit.eval.probe import Probe, train_probe
from facedit.faces import Face
from facedit.eval.report import markdown_table
from facedit.eval.tasks import Task
from facedit.io import save_image

SIZE = 64  # side of the tiny set's crops
BLEND = 128
SPLIT_SIZES = {"train": 100, "val": 40, "test": 20}
UTKFACE_ROWS = 12  # train rows without CelebA labels: the probe must leave them out
LENS_DARKNESS = 0.4  # the harness test's painted lenses keep 40% of the light

pytestmark = pytest.mark.usefixtures("one_thread")


def _lenses(size: int) -> np.ndarray:
    """(size, size) float32 0/1: a band across both eyes of an aligned crop (dark glasses)."""
    mask = np.zeros((size, size), np.float32)
    mask[int((EYE_Y - 0.06) * size):int((EYE_Y + 0.06) * size),
         int(0.27 * size):int(0.73 * size)] = 1
    return mask


@pytest.fixture(scope="module")
def template(astronaut_aligned):
    """The astronaut's aligned crop at SIZE px and its face in that crop's pixels."""
    s = SIZE / astronaut_aligned.size
    crop = cv2.resize(astronaut_aligned.crop, (SIZE, SIZE), interpolation=cv2.INTER_AREA)
    return crop, astronaut_aligned.face.transformed(np.array([[s, 0, 0], [0, s, 0]]))


def _faces(template, n: int, glasses: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray]:
    """n crops (n, SIZE, SIZE, 3) of the template, shifted by up to 2 px, brightened or darkened,
    noisy, with dark lenses where `glasses` (n,) is set; their meshes (n, 478, 2) moved alike."""
    crop, face = template
    lenses = _lenses(SIZE)[..., None] > 0
    images, meshes = [], []
    for wear in glasses:
        base = crop.astype(np.float32)
        if wear:
            base = np.where(lenses, base * rng.uniform(0.3, 0.6), base)
        dx, dy = rng.uniform(-2, 2, 2)
        moved = cv2.warpAffine(base, np.float32([[1, 0, dx], [0, 1, dy]]), (SIZE, SIZE),
                               borderMode=cv2.BORDER_REFLECT)
        noisy = moved * rng.uniform(0.8, 1.2) + rng.normal(0, 4, moved.shape)
        images.append(np.clip(noisy, 0, 255).astype(np.uint8))
        meshes.append(face.mesh[:, :2] + [dx, dy])
    return np.stack(images), np.stack(meshes).astype(np.float16)


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory, template):
    """A prepared set of the astronaut's face: Eyeglasses (dark lenses across the eye band) on
    half the rows of every split, Bald at random (nothing in the images shows it), and a few
    UTKFace rows without CelebA labels."""
    root = tmp_path_factory.mktemp("probe_set")
    rng = np.random.default_rng(0)
    split = np.concatenate([np.full(n, SPLITS.index(s), np.int8) for s, n in SPLIT_SIZES.items()]
                           + [np.zeros(UTKFACE_ROWS, np.int8)])
    n = len(split)
    glasses = rng.permutation(np.arange(n) % 2 == 0)
    images, mesh = _faces(template, n, glasses, rng)
    attrs = -np.ones((n, 40), np.int8)
    attrs[glasses, CELEBA_ATTRIBUTES.index("Eyeglasses")] = 1
    attrs[rng.random(n) < 0.5, CELEBA_ATTRIBUTES.index("Bald")] = 1
    source = np.array(["celeba_aligned"] * (n - UTKFACE_ROWS) + ["utkface"] * UTKFACE_ROWS)
    attrs[source == "utkface"] = 0
    np.save(root / "images.npy", images)
    np.save(root / "mesh.npy", mesh)
    np.savez(root / "labels.npz", attrs=attrs, age=np.full(n, -1, np.float32),
             gender=np.full(n, -1, np.int8), race=np.full(n, -1, np.int8), split=split,
             source=source, name=np.array([f"{i}.jpg" for i in range(n)]))
    (root / "summary.json").write_text(json.dumps({"size": SIZE, "kept": n}))
    return root


@pytest.fixture(scope="module")
def probe(tiny_set) -> Probe:
    return train_probe(tiny_set, "Eyeglasses", "eye_band")


def test_the_probe_learns_an_attribute_visible_in_its_region(probe, template, monkeypatch):
    assert (probe.label, probe.region, probe.size) == ("Eyeglasses", "eye_band", SIZE)
    assert (probe.train_count, probe.val_count) == (SPLIT_SIZES["train"], SPLIT_SIZES["val"])
    assert probe.val_balanced_accuracy >= 0.9
    glasses = np.arange(40) % 2 == 0
    crops, mesh = _faces(template, 40, glasses, np.random.default_rng(1))
    faces = [Face.from_points(m) for m in mesh]
    p = probe(crops, faces)
    assert p.shape == (40,) and np.isfinite(p).all()
    assert np.mean((p >= 0.5) == glasses) >= 0.9
    # Crops at another size are read at the probe's own, their faces scaled alike.
    read = []
    monkeypatch.setattr(probe_module, "region_features",
                        lambda c, f, r: read.append(c.shape) or region_features(c, f, r))
    big = np.stack([cv2.resize(c, (2 * SIZE, 2 * SIZE), interpolation=cv2.INTER_LINEAR)
                    for c in crops])
    p_big = probe(big, [f.transformed(np.array([[2.0, 0, 0], [0, 2.0, 0]])) for f in faces])
    assert read == [(40, SIZE, SIZE, 3)]
    assert np.array_equal(p_big >= 0.5, p >= 0.5)


def test_a_label_the_region_does_not_show_stays_near_chance(tiny_set):
    assert train_probe(tiny_set, "Bald", "eye_band").val_balanced_accuracy < 0.75


def test_an_empty_region_reads_nan(probe, template):
    crop, face = template
    away = face.transformed(np.array([[1, 0, 10 * SIZE], [0, 1, 10 * SIZE]]))  # off the crop
    p = probe(np.stack([crop, crop]), [face, away])
    assert np.isfinite(p[0]) and np.isnan(p[1])


def test_bad_probe_data_is_a_clear_error(tiny_set, tmp_path):
    with pytest.raises(ConfigError, match="holds no prepared set"):
        train_probe(tmp_path, "Eyeglasses", "eye_band")
    with pytest.raises(ConfigError, match="0 CelebA faces with Wearing_Hat and 100 without"):
        train_probe(tiny_set, "Wearing_Hat", "eye_band")
    with pytest.raises(ConfigError, match="not a CelebA label"):
        train_probe(tiny_set, "Glasses", "eye_band")


def test_probe_success_is_on_the_target_side_and_a_faceless_output_fails():
    probe = SimpleNamespace(label="Eyeglasses", region="eye_band", val_balanced_accuracy=0.8)
    ms = [SimpleNamespace(probe_before=b, probe_after=a)
          for b, a in ((0.9, 0.2), (0.8, 0.1), (0.3, 0.7), (0.7, float("nan")))]
    remove = probe_summary(probe, Task("eyeglasses_remove", "eyeglasses", "Eyeglasses", 0.05), ms)
    add = probe_summary(probe, Task("eyeglasses_add", "eyeglasses", "Eyeglasses", 0.95), ms)
    assert remove["success_rate"] == 0.5 and add["success_rate"] == 0.25
    assert remove["before_mean"] == pytest.approx(0.675)
    assert remove["after_mean"] == pytest.approx(1 / 3)
    assert remove["val_balanced_accuracy"] == 0.8 and remove["label"] == "Eyeglasses"


# -- in the harness ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def editor(detector):
    from facedit.edit import Editor

    return Editor.load(blend_size=BLEND, detector=detector)


@pytest.fixture(scope="module")
def folder(tmp_path_factory, astronaut):
    """The astronaut at 320 px and its mirror image."""
    root = tmp_path_factory.mktemp("probe_photos")
    small = cv2.resize(astronaut, (320, 320), interpolation=cv2.INTER_AREA)
    save_image(root / "a.png", small)
    save_image(root / "b.png", np.ascontiguousarray(small[:, ::-1]))
    return root


def _unchanged(editor, task, photo, face, shared):
    return MethodOutput(photo.copy(), np.zeros(face.aligned.crop.shape[:2], np.float32),
                        {"edit": 0.0})


def _painted_lenses(editor, task, photo, face, shared):
    band = _lenses(face.aligned.size)
    inside = warp_mask_to_photo(face.aligned, band) > 0.5
    out = photo.copy()
    out[inside] = (out[inside] * LENS_DARKNESS).astype(np.uint8)
    return MethodOutput(out, band, {"edit": 0.0})


def _blank(editor, task, photo, face, shared):
    return MethodOutput(np.full_like(photo, 128), np.ones(face.aligned.crop.shape[:2], np.float32),
                        {"edit": 0.0})


def _unchanged_sweep(editor, task, face, strengths):
    return np.stack([face.aligned.crop] * len(strengths))


@pytest.fixture(scope="module")
def methods():
    added = {"unchanged": ("returns the photo as it is", _unchanged),
             "lenses": ("paints dark lenses over the eyes", _painted_lenses),
             "blank": ("returns a grey photo without a face", _blank)}
    for name, (description, edit) in added.items():
        METHODS[name] = Method(name, description, edit, _unchanged_sweep)
    yield tuple(added)
    for name in added:
        del METHODS[name]


@pytest.fixture(scope="module")
def run(tmp_path_factory, folder, editor, methods, tiny_set):
    out = tmp_path_factory.mktemp("probe_report")
    config = EvalConfig(edits="eyeglasses+,mirror", methods=methods, n=2, curve_photos=0,
                        identity=False, grid_rows=1, probe_data=str(tiny_set))
    report, _ = run_evaluation(folder, out, config, editor=editor, show_progress=False)
    return report, out


def test_the_harness_reports_the_probe_beside_the_judge(run, probe):
    report, out = run
    results = report["results"]["eyeglasses_add"]
    assert report["photos"]["per_task"]["eyeglasses_add"]["evaluated"] == 2
    for r in results.values():
        assert set(r["probe"]) == {"label", "region", "val_balanced_accuracy", "success_rate",
                                   "before_mean", "after_mean"}
        assert (r["probe"]["label"], r["probe"]["region"]) == ("Eyeglasses", "eye_band")
        assert r["probe"]["val_balanced_accuracy"] == pytest.approx(probe.val_balanced_accuracy)
    unchanged, lenses, blank = (results[m]["probe"] for m in ("unchanged", "lenses", "blank"))
    # The astronaut wears no glasses: an unchanged output reads as the input did.
    assert unchanged["success_rate"] == 0.0
    assert unchanged["after_mean"] == pytest.approx(unchanged["before_mean"], abs=1e-9)
    assert unchanged["before_mean"] < 0.5
    # The lenses the probe was trained on, painted into the photo: it sees them.
    assert lenses["success_rate"] == 1.0 and lenses["after_mean"] > 0.5
    # No face in the output: nothing read, a failure for the probe as for the judge.
    assert blank["success_rate"] == 0.0 and blank["after_mean"] is None
    assert results["blank"]["success_rate"] == 0.0
    assert results["blank"]["face_found_in_output"] == 0
    assert all("probe" not in r for r in report["results"]["mirror"].values())
    assert report["photos"]["per_task"]["eyeglasses_add"]["probe_rows"] == {
        "train": SPLIT_SIZES["train"], "val": SPLIT_SIZES["val"]}
    assert report["config"]["probe_data"] in report["probe"]
    rows = [json.loads(line) for line in (out / "grids" / "rows.jsonl").read_text().splitlines()]
    lens_rows = [r for r in rows if r["task"] == "eyeglasses_add" and r["method"] == "lenses"]
    assert len(lens_rows) == 2 and all(r["probe_after"] > 0.5 > r["probe_before"]
                                       for r in lens_rows)
    assert all("probe_after" not in r for r in rows if r["task"] == "mirror")


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def test_the_report_shows_the_probe_column(run):
    report, out = run
    table = markdown_table(report)
    head, _, *rows = [_cells(line) for line in table.splitlines() if line.startswith("|")]
    column = head.index("probe success")
    cells = {(r[0], r[1]): r[column] for r in rows}
    assert cells[("eyeglasses_add", "lenses")] == "1.00"
    assert cells[("eyeglasses_add", "blank")] == "0.00"
    assert cells[("mirror", "lenses")] == "not measured"
    accuracy = report["results"]["eyeglasses_add"]["lenses"]["probe"]["val_balanced_accuracy"]
    note = f"validation balanced accuracy {accuracy:.2f}"
    assert table.count(note) == 1  # once per task
    page = (out / "report.html").read_text()
    assert "probe success" in page and page.count(note) == 1


def test_without_probe_data_nothing_is_measured(tmp_path, folder, editor, methods):
    config = EvalConfig(edits="eyeglasses+", methods=("unchanged",), n=1, curve_photos=0,
                        identity=False)
    report, _ = run_evaluation(folder, tmp_path, config, editor=editor, show_progress=False)
    assert "probe" not in report["results"]["eyeglasses_add"]["unchanged"]
    assert "probe_rows" not in report["photos"]["per_task"]["eyeglasses_add"]
    assert report["probe"] == "not measured"
    head, _, row = (_cells(line) for line in markdown_table(report).splitlines()[:3])
    assert row[head.index("probe success")] == "not measured"
    assert "validation balanced accuracy" not in markdown_table(report)


def test_cli_passes_probe_data(tmp_path, folder):
    result = CliRunner().invoke(main, ["eval", str(folder), "--edits", "eyeglasses+",
                                       "--no-identity", "--probe-data", str(tmp_path / "none"),
                                       "-o", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "holds no prepared set" in result.output
