"""The evaluation harness end to end on a tiny folder: known answers for an edit that changes
nothing and for one confined to its region, well-formed report files, bad photos reported."""
import json

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from facedit.cli import main
from facedit.errors import ConfigError
from facedit.eval.harness import EvalConfig, run_evaluation
from facedit.eval.methods import METHODS, Method, MethodOutput
from facedit.io import save_image

BLEND = 128


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def editor(detector):
    from facedit.edit import Editor

    return Editor.load(blend_size=BLEND, detector=detector)


@pytest.fixture(scope="module")
def folder(tmp_path_factory, astronaut):
    """Two readable faces (the astronaut, at 320 px, and its mirror image), a corrupt JPEG and a
    photo without a face."""
    root = tmp_path_factory.mktemp("photos")
    small = cv2.resize(astronaut, (320, 320), interpolation=cv2.INTER_AREA)
    save_image(root / "a.png", small)
    save_image(root / "b.png", np.ascontiguousarray(small[:, ::-1]))
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a JPEG")
    save_image(root / "blank.png", np.full((120, 160, 3), 128, np.uint8))
    return root


def _unchanged(editor, task, photo, face, shared):
    return MethodOutput(photo.copy(), np.zeros(face.aligned.crop.shape[:2], np.float32),
                        {"edit": 0.0})


def _unchanged_sweep(editor, task, face, strengths):
    return np.stack([face.aligned.crop] * len(strengths))


@pytest.fixture(scope="module")
def unchanged_method():
    METHODS["unchanged"] = Method("unchanged", "returns the photo as it is", _unchanged,
                                  _unchanged_sweep)
    yield "unchanged"
    del METHODS["unchanged"]


@pytest.fixture(scope="module")
def run(tmp_path_factory, folder, editor, unchanged_method):
    out = tmp_path_factory.mktemp("report")
    config = EvalConfig(edits="eyeglasses+,mirror", methods=("facedit", unchanged_method,
                                                             "baseline"),
                        n=2, curve_photos=1, curve_points=3, grid_rows=2)
    report, written = run_evaluation(folder, out, config, editor=editor, show_progress=False)
    return report, written, out


def test_unreadable_and_faceless_photos_are_reported_not_fatal(run):
    report, _, _ = run
    skipped = report["photos"]["skipped"]
    assert set(skipped) == {"broken.jpg", "blank.png"}
    assert "no face" in skipped["blank.png"]
    assert report["photos"]["per_task"]["mirror"]["evaluated"] == 2


def test_an_edit_that_changes_nothing_has_the_known_answers(run):
    report, _, _ = run
    for task in ("eyeglasses_add", "mirror"):
        r = report["results"][task]["unchanged"]
        assert r["success_rate"] == 0.0  # the astronaut wears no glasses; no asymmetry removed
        assert r["locality"]["psnr_outside_region_db"] == {
            "share_identical": 1.0, "median": "inf", "median_of_changed": None}
        assert r["locality"]["psnr_background_db"]["share_identical"] == 1.0
        assert r["locality"]["ssim_outside_region_median"] == pytest.approx(1.0)
        assert r["preservation"]["flip_rate_max"] == 0.0
        assert r["preservation"]["mean_abs_change"] == pytest.approx(0.0, abs=1e-6)
        assert r["preservation"]["attribute_dependency"] == pytest.approx(0.0, abs=1e-6)
        if report["identity_model"].startswith("dlib"):
            assert r["identity"]["cosine_median"] == pytest.approx(1.0, abs=1e-6)
            assert r["identity"]["same_person_share"] == 1.0
        curve = r["strength_curve"]
        assert curve["monotonic"] and len(curve["strength"]) == 3


def test_an_edit_confined_to_its_region_leaves_everything_else_exact(run):
    report, _, _ = run
    region = report["results"]["eyeglasses_add"]["facedit"]["locality"]
    assert region["psnr_outside_region_db"]["share_identical"] == 1.0
    assert region["psnr_background_db"]["share_identical"] == 1.0
    # The baseline re-decodes the whole face: the pixels outside the eye band change.
    base = report["results"]["eyeglasses_add"]["baseline"]["locality"]
    assert base["psnr_outside_region_db"]["share_identical"] == 0.0
    assert base["psnr_background_db"]["share_identical"] == 1.0  # under the paste mask only


def test_report_files_are_written_and_well_formed(run):
    report, written, out = run
    loaded = json.loads((out / "report.json").read_text())  # strict JSON: no bare NaN / inf
    assert loaded == json.loads(json.dumps(report))
    assert set(loaded["results"]) == {"eyeglasses_add", "mirror"}
    assert set(loaded["results"]["mirror"]) == {"facedit", "unchanged", "baseline"}
    for name in ("success_vs_strength.png", "preservation.png", "identity.png",
                 "time_per_stage.png"):
        image = cv2.imread(str(out / name))
        assert image is not None and image.shape[0] > 100, name
    page = (out / "report.html").read_text()
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    assert "broken.jpg" in page and "success_vs_strength.png" in page
    assert (out / "grids" / "mirror_best.png").is_file()
    rows = [json.loads(line) for line in (out / "grids" / "rows.jsonl").read_text().splitlines()]
    assert len(rows) == 2 * 2 * 3  # photos x tasks x methods
    speed = loaded["results"]["mirror"]["facedit"]["speed"]["median_seconds"]
    assert set(speed) == {"align", "encode", "edit", "blend", "paste"}
    assert loaded["peak_rss_mib"] > 0


def test_labels_file_decides_the_inputs(tmp_path, folder, editor):
    labels = tmp_path / "labels.csv"
    labels.write_text("name,Eyeglasses\na.png,1\nb.png,-1\n")
    config = EvalConfig(edits="eyeglasses", methods=("baseline",), n=5, curve_photos=0,
                        identity=False)
    report, _ = run_evaluation(folder, tmp_path / "r", config, labels=labels, editor=editor,
                               show_progress=False)
    counts = report["photos"]["per_task"]
    assert counts["eyeglasses_add"]["evaluated"] == 1
    assert counts["eyeglasses_remove"]["evaluated"] == 1
    assert report["results"]["eyeglasses_add"]["baseline"]["identity"] is None


def test_bad_options_are_one_line_errors(tmp_path, folder, editor):
    with pytest.raises(ConfigError, match="unknown method 'nope'; known: facedit"):
        run_evaluation(folder, tmp_path, EvalConfig(methods=("nope",)), editor=editor)
    with pytest.raises(ConfigError, match="does not exist"):
        run_evaluation(tmp_path / "missing", tmp_path, EvalConfig(), editor=editor)
    result = CliRunner().invoke(main, ["eval", str(folder), "--edits", "frobnicate", "-o",
                                       str(tmp_path / "cli")])
    assert result.exit_code == 2
    assert "unknown attribute 'frobnicate'" in result.output
    with pytest.raises(ConfigError, match="remove target"):
        run_evaluation(folder, tmp_path, EvalConfig(remove_target=0.6), editor=editor)
    with pytest.raises(ConfigError, match="--refs: expected at least 2"):
        run_evaluation(folder, tmp_path, EvalConfig(refs=1), editor=editor)
    with pytest.raises(ConfigError, match="--ref-splits: expected some of train, val, test"):
        run_evaluation(folder, tmp_path, EvalConfig(ref_splits=("tset",)), editor=editor)
    result = CliRunner().invoke(main, ["eval", str(folder), "--add-target", "1.5", "-o",
                                       str(tmp_path / "cli")])
    assert result.exit_code == 2 and "--add-target" in result.output


def test_realism_by_group_names_the_group_that_moved():
    from facedit.eval.harness import REALISM_GROUPS, realism_by_group
    from facedit.eval.metrics import feature_groups

    shape, colour, stats = feature_groups()
    rng = np.random.default_rng(0)
    ref, ins, out = (rng.normal(size=(120, shape + colour + stats)) for _ in range(3))
    ins[:, shape:shape + colour] += 1.0  # the inputs differ from the references in colour
    out[:, shape:shape + colour] += 0.1  # the edit fixed most of the colour ...
    out[:, :shape] += 1.0  # ... and broke the edges
    ratios = realism_by_group(out, ins, ref)
    assert list(ratios) == list(REALISM_GROUPS)
    assert ratios["colour layout"] < 0.3
    assert ratios["shape (HOG)"] > 3
    assert realism_by_group(out[:, :10], ins[:, :10], ref[:, :10]) is None


def test_realism_reports_a_matched_ratio_with_its_effective_count():
    from facedit.eval.harness import realism_of
    from facedit.eval.metrics import FeatureSpace, feature_groups

    width = sum(feature_groups())
    rng = np.random.default_rng(1)
    ref, ins, out = (rng.normal(size=(80, width)) for _ in range(3))
    space = FeatureSpace.fit(np.concatenate([ref, ins]), dims=8)
    plain = realism_of(space, out, ins, ref)
    assert "matched" not in plain
    weights = np.r_[np.ones(40), np.zeros(40)]
    r = realism_of(space, out, ins, ref, {"on": ["Male"], "weights": weights})
    assert r["ratio"] == plain["ratio"]
    assert r["matched"]["on"] == ["Male"]
    assert r["matched"]["effective_real_faces"] == 40.0
    assert list(r["matched"]["ratio_by_group"]) == list(plain["ratio_by_group"])
    assert r["matched"]["ratio"] != plain["ratio"]


def test_matched_traits_leave_out_the_task_label_and_what_the_judge_cannot_read():
    from facedit.eval.harness import MATCHED_TRAITS, matched_traits
    from facedit.eval.tasks import parse_edits

    add, _ = parse_edits("eyeglasses")
    assert "Eyeglasses" not in matched_traits(add, list(MATCHED_TRAITS))
    assert "Male" in matched_traits(add, list(MATCHED_TRAITS))
    assert matched_traits(add, ["Eyeglasses", "Young"]) == ["Young"]


def test_region_statistics_reports_each_statistic_for_inputs_outputs_and_references():
    from facedit.eval.harness import REGION_STATISTICS, region_statistics
    from facedit.eval.metrics import feature_groups

    width = sum(feature_groups())
    ins, out, ref = np.zeros((5, width)), np.zeros((5, width)), np.zeros((5, width))
    out[:, -8] = 70.0  # L mean: the outputs' region is brighter ...
    ref[:, -8] = 60.0
    out[:, -1] = np.nan  # ... and one statistic was not measured on some faces
    out[0, -1] = 4.0
    stats = region_statistics(out, ins, ref)
    assert list(stats) == list(REGION_STATISTICS)
    assert stats["L mean"] == {"inputs": 0.0, "outputs": 70.0, "references": 60.0}
    assert stats["laplacian std"]["outputs"] == 4.0
    assert region_statistics(out[:, :10], ins[:, :10], ref[:, :10]) is None
    ref[:2, -8] = 90.0  # weighted to the first two references only
    matched = region_statistics(out, ins, ref, np.r_[1.0, 1.0, 0.0, 0.0, 0.0])
    assert matched["L mean"]["references (matched)"] == 90.0
    assert matched["L mean"]["references"] == 72.0
