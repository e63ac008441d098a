"""`facedit pipeline run` end to end with tiny random models on astronaut variants: every required
output, `check` passes, the report lists every gate verdict, the background never changes, a
killed run resumes to the same bytes, and local processes and Ray give identical outputs."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from skimage import data as skdata

import facedit.pipeline.run as run_mod
from facedit.cli import main
from facedit.config import load_config
from facedit.directions import DirectionSet
from facedit.errors import ConfigError
from facedit.io import load_image, save_image
from facedit.pipeline.check import check_output
from facedit.pipeline import synthetic
from facedit.pipeline.run import run_pipeline
from facedit.pipeline.tiny import make_tiny_models
from facedit.translations import user_store

ROOT = Path(__file__).resolve().parents[1]
NAMES = ("0_0_0_0_0_0_0_0_0", "2_1_0_1_1_1_4_1_2")  # one non-bald (24 outputs), one bald (25)
BAD = ("holiday.png", "0_0_0_0_0_0_9_0_0.png")


@pytest.fixture(scope="module", autouse=True)
def keep_threads():
    """The pipeline fixes torch's thread count; give the other tests theirs back."""
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> list[str]:
    folder = tmp_path_factory.mktemp("models")
    return make_tiny_models(folder) + [f"translation.user_dir={folder / 'user'}"]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("data")
    synthetic.make_set(folder, list(NAMES), seed=1)
    for bad in BAD:
        shutil.copy(folder / f"{NAMES[0]}.png", folder / bad)
    return folder


def _config(models, *extra):
    return load_config(overrides=[*models, *extra])


def _hashes(out: Path) -> dict[str, str]:
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.glob("*/*.png"))}


@pytest.fixture(scope="module")
def reference(tmp_path_factory, models, data_dir):
    """An uninterrupted run through the command line: (OUT, its PNG hashes)."""
    out = tmp_path_factory.mktemp("ref") / "out"
    args = ["pipeline", "run", str(data_dir), "-o", str(out), "--quiet"]
    for o in models:
        args += ["--set", o]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "2 image(s), 49 output(s) of 49 required" in result.output
    return out, _hashes(out)


# -- one run ------------------------------------------------------------------------------------

def test_run_writes_exactly_the_required_outputs(reference):
    out, hashes = reference
    assert len(hashes) == 49
    assert len(list((out / NAMES[0]).glob("*.png"))) == 24
    assert len(list((out / NAMES[1]).glob("*.png"))) == 25
    result = check_output(out)
    assert result.ok, result.lines()
    runner = CliRunner().invoke(main, ["pipeline", "check", str(out)])
    assert runner.exit_code == 0 and "valid: 2 image folder(s), 49 good output(s)" in \
        runner.output
    assert not list(out.rglob("*.part*"))


def test_report_lists_every_gate_verdict_and_bad_name(reference):
    out, _ = reference
    report = json.loads((out / "report.json").read_text())
    assert report["images"] == 2 and report["outputs"] == report["expected_outputs"] == 49
    assert sorted(r["file"] for r in report["rejected"]) == sorted(BAD)
    entries = [o for r in report["records"] for o in r["outputs"]]
    assert len(entries) == 49
    for o in entries:
        assert isinstance(o["reading"], float) and o["passed"] in (True, False)
        assert o["translation"] and o["origin"] == "shipped"
        assert ("gate_failed" in o["flags"]) == (o["passed"] is False)
    g = report["gate"]
    assert g["passed"] + g["failed"] == 49 and g["stand_ins"] == g["failed"]
    html = (out / "report.html").read_text()
    assert html.count("<tr") == 50 and "holiday.png" in html
    assert load_config(out / "config.yaml").pipeline.blend_size == 64


def test_background_never_changes_and_stand_ins_are_copies(reference, data_dir):
    from facedit.segmentation import PersonSegmenter

    out, _ = reference
    report = json.loads((out / "report.json").read_text())
    for record in report["records"]:
        photo = load_image(data_dir / record["file"])
        background = PersonSegmenter()(photo) <= 0.5
        assert background.any()
        changed_any = False
        for o in record["outputs"]:
            img = load_image(out / record["image"] / f"{o['variation']}.png")
            assert img.shape == (512, 512, 3)
            np.testing.assert_array_equal(img[background], photo[background])
            assert o["background_psnr"] is None
            if o["stand_in"]:
                np.testing.assert_array_equal(img, photo)
            else:
                changed_any |= bool((img != photo).any())
        assert changed_any


# -- resume and determinism ---------------------------------------------------------------------

class _Killed(Exception):
    pass


def test_resume_after_kills_gives_the_same_bytes(reference, models, data_dir, tmp_path,
                                                 monkeypatch):
    out = tmp_path / "out"
    config = _config(models)
    for k in (5, 20, 11):  # killed after k more PNGs each time: inside image 1, 2, 2
        count = [0]

        def hook(path, count=count, k=k):
            count[0] += 1
            if count[0] >= k:
                raise _Killed(path)
        monkeypatch.setattr(run_mod, "_after_write", hook)
        with pytest.raises(_Killed):
            run_pipeline(data_dir, out, config, progress=False)
        assert not list(out.rglob("*.part*"))
    # a stale temporary file of a write killed half way is cleaned up
    stale = out / NAMES[1] / ".Hs_1.png.0123456789ab.part.png"
    stale.write_bytes(b"half a png")
    monkeypatch.setattr(run_mod, "_after_write", None)
    report = run_pipeline(data_dir, out, config, progress=False)
    assert report["outputs"] == 49 and not stale.exists()
    assert _hashes(out) == reference[1]
    # a finished run is skipped as a whole
    again = run_pipeline(data_dir, out, config, progress=False)
    assert again["rendered_images"] == 0 and again["kept_images"] == 2
    assert _hashes(out) == reference[1]


def test_resume_refuses_other_settings(reference, models, data_dir, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(reference[0], out)
    with pytest.raises(ConfigError, match="translation.step"):
        run_pipeline(data_dir, out, _config(models, "translation.step=3"), progress=False)
    # settings that change no byte may differ
    report = run_pipeline(data_dir, out, _config(models, "pipeline.workers=3"), progress=False)
    assert report["kept_images"] == 2


def test_local_processes_give_identical_outputs(reference, models, data_dir, tmp_path):
    out = tmp_path / "out"
    report = run_pipeline(data_dir, out, _config(models, "pipeline.workers=2"), progress=False)
    assert report["outputs"] == 49
    assert _hashes(out) == reference[1]


def test_ray_gives_identical_outputs(reference, models, data_dir, tmp_path):
    pytest.importorskip("ray")
    out = tmp_path / "out"
    config = _config(models, "pipeline.workers=2", "pipeline.executor=ray")
    report = run_pipeline(data_dir, out, config, progress=False)
    assert report["outputs"] == 49
    assert _hashes(out) == reference[1]


# -- translations, missing translations, faceless inputs, intermediate steps --------------------

def test_missing_translation_fails_naming_it(models, data_dir, tmp_path):
    config = _config(models)
    folder = Path(config.pipeline.model.partition(":")[2]) / "directions"
    ds = DirectionSet.load(folder)
    keep = [n for n in ds.names if n != "bald"]
    DirectionSet(keep, np.stack([ds[n] for n in keep]), ds.meta).save(tmp_path / "dirs")
    config = _config(models, f"pipeline.directions={tmp_path / 'dirs'}")
    with pytest.raises(ConfigError) as info:
        run_pipeline(data_dir, tmp_path / "out", config, progress=False)
    message = str(info.value)
    assert "fewer outputs than required" in message and "bald_fr_0 or bald" in message
    assert not (tmp_path / "out").exists()  # refused before any work


def test_user_translation_wins_and_steps_are_saved(models, tmp_path, astronaut):
    config = _config(models, "postprocess.intermediate=true")
    store = user_store(config.pipeline.model, config.translation.user_dir)
    store.save("Hc_1", np.full(24, 0.5, np.float32), source="test")
    try:
        data = tmp_path / "data"
        save_image(data / f"{NAMES[0]}.png", astronaut)
        out = tmp_path / "out"
        report = run_pipeline(data, out, config, progress=False)
    finally:
        store.delete("Hc_1")
    entries = {o["variation"]: o for o in report["records"][0]["outputs"]}
    assert (entries["Hc_1"]["translation"], entries["Hc_1"]["origin"]) == ("Hc_1", "user")
    assert (entries["Hc_2"]["translation"], entries["Hc_2"]["origin"]) == ("Hc_2_fr_0",
                                                                         "shipped")
    for step in ("edit", "domain", "segmentation", "foreground"):
        assert len(list((out / ".steps" / step / NAMES[0]).glob("*.png"))) == 24
    final = load_image(out / NAMES[0] / "Be_max.png")
    if not entries["Be_max"]["stand_in"]:
        last = load_image(out / ".steps" / "foreground" / NAMES[0] / "Be_max.png")
        np.testing.assert_array_equal(final, last)
    assert check_output(out).ok  # the hidden steps folder is not an extra


def test_faceless_input_gets_flagged_copies(models, tmp_path):
    data = tmp_path / "data"
    save_image(data / "1_1_1_0_0_0_2_0_0.png", skdata.coffee())  # 400 x 600: resized to 512
    out = tmp_path / "out"
    report = run_pipeline(data, out, _config(models), progress=False)
    record = report["records"][0]
    assert record["status"] == "no_face" and record["resized_from"] == [600, 400]
    assert all(o["stand_in"] and "no_face" in o["flags"] for o in record["outputs"])
    assert check_output(out).ok


def test_unreadable_input_is_listed_not_fatal(models, tmp_path, astronaut):
    data = tmp_path / "data"
    save_image(data / f"{NAMES[0]}.png", astronaut)
    (data / "1_1_1_0_0_0_2_0_0.png").write_bytes(b"not an image")
    out = tmp_path / "out"
    report = run_pipeline(data, out, _config(models, "gate.enabled=false"), progress=False)
    assert report["images"] == 1 and report["gate"]["not_judged"] == 24
    assert [r["file"] for r in report["rejected"]] == ["1_1_1_0_0_0_2_0_0.png"]
    assert not check_output(out, data).ok  # the unreadable input has no outputs


def test_projection_refinement_lowers_the_reconstruction_error(models):
    from facedit.models.backend import load_backend
    from facedit.pipeline.projection import refine_latent

    config = _config(models, "projection.iterations=20", "projection.lr=0.05")
    backend = load_backend(config.pipeline.model)
    crop = np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8)
    z0 = backend.encode(crop[None])[0]
    z = refine_latent(backend, crop, z0, config.projection)
    err = lambda v: float(np.mean((backend.decode(v[None])[0] - crop) ** 2))  # noqa: E731
    assert err(z) < err(z0)
    assert refine_latent(backend, crop, z0, _config(models).projection) is z0
