"""Translation names, the user store, shipped translations from directions, and precedence
(user > shipped, specific > default)."""
from __future__ import annotations

import numpy as np
import pytest

from facedit.attributes import CHARACTERISTICS, CURSORS
from facedit.config import TranslationConfig
from facedit.directions import DirectionSet
from facedit.errors import ConfigError, ShapeError
from facedit.translations import (TranslationStore, Translations, candidates,
                                  parse_translation_name, shipped_translations, user_store)


@pytest.mark.parametrize("name, kind, c, value, source", [
    ("Be_min", "cursor", "Be", "min", None), ("Ch_max", "cursor", "Ch", "max", None),
    ("Hc_0", "default", "Hc", 0, None), ("Sk_2", "default", "Sk", 2, None),
    ("bald", "default", "Hc", "bald", None), ("bald_fr_3", "specific", "Hc", "bald", 3),
    ("A_0_fr_1", "specific", "A", 0, 1), ("Hc_1_fr_4", "specific", "Hc", 1, 4),
    ("Hs_0_fr_2", "specific", "Hs", 0, 2),
])
def test_good_names(name, kind, c, value, source):
    parsed = parse_translation_name(name)
    assert (parsed.kind, parsed.characteristic, parsed.value, parsed.source) == \
        (kind, c, value, source)
    assert parsed.name == name


@pytest.mark.parametrize("name, rule", [
    ("Be_mid", "cursor rule"), ("N_max_fr_1", "cursor rule"),
    ("Hc_4", "default rule"), ("Hs_2", "default rule"), ("Sk_3", "default rule"),
    ("Se_x", "default rule"), ("A_0_1", "default rule"),
    ("A_0_fr_0", "specific rule"), ("A_0_fr_5", "specific rule"), ("Hc_4_fr_0", "specific rule"),
    ("bald_fr_4", "specific rule"), ("Sk_1_fr", "specific rule"),
    ("C_1", "indicative feature"), ("P_0", "indicative feature"),
    ("Xy_1", "follows no naming rule"), ("", "non-empty"),
])
def test_bad_names_name_the_rule(name, rule):
    with pytest.raises(ConfigError) as info:
        parse_translation_name(name)
    assert rule in str(info.value)


def test_candidates_most_specific_first():
    assert candidates("Hc_1", 0) == ["Hc_1_fr_0", "Hc_1"]
    assert candidates("bald", 2) == ["bald_fr_2", "bald"]
    assert candidates("Be_max", None) == ["Be_max"]
    with pytest.raises(ConfigError):
        candidates("Hc_1_fr_0", 0)


def _directions(dim: int = 24) -> DirectionSet:
    names = sorted({a for v in CHARACTERISTICS.values() for a, _ in v.values()} |
                   {a for a, _, _ in CURSORS.values()})
    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(dim, len(names))))
    return DirectionSet(names, q.T, {n: {"scale": 0.5} for n in names})


def test_shipped_translations_follow_targets():
    ds = _directions()
    t = shipped_translations(ds, TranslationConfig(step=2.0, steps={"A": 3.0}))
    u = lambda a: 0.5 * ds[a]  # noqa: E731
    np.testing.assert_allclose(t["Se_1"], -2.0 * u("male"), atol=1e-6)  # female: less male
    np.testing.assert_allclose(t["B_1"], 2.0 * u("bangs"), atol=1e-6)
    np.testing.assert_allclose(t["D_0"], -2.0 * u("double_chin"), atol=1e-6)
    # three levels span one step: two levels older is the whole step, one level half of it
    np.testing.assert_allclose(t["A_2_fr_0"], -3.0 * u("young"), atol=1e-6)
    np.testing.assert_allclose(t["A_1_fr_2"], 1.5 * u("young"), atol=1e-6)
    np.testing.assert_allclose(t["Sk_1_fr_2"], 1.0 * u("pale_skin"), atol=1e-6)
    np.testing.assert_allclose(t["Hc_1_fr_0"], 2.0 * (u("blond_hair") - u("black_hair")),
                               atol=1e-6)
    np.testing.assert_allclose(t["Hc_3_fr_4"], 2.0 * (u("gray_hair") - u("bald")), atol=1e-6)
    np.testing.assert_allclose(t["bald"], 2.0 * u("bald"), atol=1e-6)
    np.testing.assert_allclose(t["Ch_min"], -2.0 * u("chubby"), atol=1e-6)
    assert "Sk_1" not in t  # an intermediate level needs to know where it comes from
    assert all(v.dtype == np.float32 and v.shape == (24,) for v in t.values())


def test_store_save_list_delete(tmp_path):
    store = TranslationStore(tmp_path / "s")
    assert store.names() == []
    store.save("Hc_1", np.ones(8), source="a.jpg")
    store.save("A_0_fr_1", np.full(8, 2.0))
    assert store.names() == ["A_0_fr_1", "Hc_1"] and "Hc_1" in store
    assert store.meta("Hc_1") == {"source": "a.jpg"}
    np.testing.assert_array_equal(store.load()["A_0_fr_1"], np.full(8, 2.0, np.float32))
    with pytest.raises(ShapeError, match="expected 8 dimensions"):
        store.save("Hc_2", np.ones(4))
    with pytest.raises(ConfigError, match="default rule"):
        store.save("Hc_9", np.ones(8))
    store.delete("Hc_1")
    assert store.names() == ["A_0_fr_1"]
    with pytest.raises(ConfigError, match="no user translation named 'Hc_1'"):
        store.delete("Hc_1")
    assert not list((tmp_path / "s").glob("*.part*"))


def test_user_store_location(tmp_path, monkeypatch):
    monkeypatch.setenv("FACEDIT_HOME", str(tmp_path))
    assert user_store("builtin:/a/b").folder == tmp_path / "translations" / "builtin__a_b"
    assert user_store("builtin", tmp_path / "x").folder == tmp_path / "x" / "builtin"


def test_precedence_user_over_shipped_and_specific_over_default():
    v = {n: np.full(2, i, np.float32) for i, n in enumerate(
        ["Hc_1", "Hc_1_fr_0", "Hc_2", "Hc_2_fr_0", "Hc_3", "Be_min"])}
    shipped = {"Hc_1": v["Hc_1"], "Hc_1_fr_0": v["Hc_1_fr_0"], "Hc_2": v["Hc_2"],
               "Hc_2_fr_0": v["Hc_2_fr_0"], "Hc_3": v["Hc_3"], "Be_min": v["Be_min"]}
    user = {"Hc_2": np.full(2, 10, np.float32), "Hc_3_fr_0": np.full(2, 11, np.float32),
            "Be_min": np.full(2, 12, np.float32)}
    t = Translations(shipped, user)
    # shipped only: specific beats default
    assert (t.resolve("Hc_1", 0).name, t.resolve("Hc_1", 0).origin) == ("Hc_1_fr_0", "shipped")
    assert t.resolve("Hc_1", 2).name == "Hc_1"  # no specific from 2: the default
    # a user default beats a shipped specific
    r = t.resolve("Hc_2", 0)
    assert (r.name, r.origin, r.vector[0]) == ("Hc_2", "user", 10)
    # a user specific beats everything, but only from its own source value
    assert (t.resolve("Hc_3", 0).name, t.resolve("Hc_3", 0).origin) == ("Hc_3_fr_0", "user")
    assert (t.resolve("Hc_3", 1).name, t.resolve("Hc_3", 1).origin) == ("Hc_3", "shipped")
    assert t.resolve("Be_min", None).origin == "user"
    assert t.resolve("bald", 0) is None
    assert t.all()["Be_min"][0] == "user" and t.all()["Hc_1"][0] == "shipped"


# -- the commands -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_overrides(tmp_path_factory):
    import torch

    from facedit.pipeline.tiny import make_tiny_models

    folder = tmp_path_factory.mktemp("models")
    threads = torch.get_num_threads()
    yield make_tiny_models(folder) + [f"translation.user_dir={folder / 'user'}"]
    torch.set_num_threads(threads)


def _invoke(args, overrides):
    from click.testing import CliRunner

    from facedit.cli import main

    for o in overrides:
        args = [*args, "--set", o]
    return CliRunner().invoke(main, args)


def test_translation_commands(tiny_overrides, tmp_path, astronaut):
    import json

    from facedit.io import save_image
    from facedit.directions import load_model_directions

    listed = _invoke(["translation", "list"], tiny_overrides)
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert len(lines) == 57 and any(line.split()[:3] == ["Hc_1_fr_0", "specific", "shipped"]
                                    for line in lines)
    photo = save_image(tmp_path / "a.png", astronaut)
    saved = _invoke(["translation", "save", "Hc_1", "--from-edit", str(photo), "--raw",
                     "--blond_hair", "1.5"], tiny_overrides)
    assert saved.exit_code == 0, saved.output
    shown = _invoke(["translation", "show", "Hc_1"], tiny_overrides)
    info = json.loads(shown.output)
    assert info["origin"] == "user" and info["kind"] == "default"
    assert info["meta"]["steps"] == {"blond_hair": 1.5}
    model = [o for o in tiny_overrides if o.startswith("pipeline.model=")][0].split("=", 1)[1]
    direction = load_model_directions(model)["blond_hair"]
    assert info["norm"] == pytest.approx(1.5 * float(np.linalg.norm(direction)), abs=1e-3)
    rows = [line.split() for line in _invoke(["translation", "list"], tiny_overrides)
            .output.splitlines()]
    assert ["Hc_1", "default", "user"] in [r[:3] for r in rows]
    deleted = _invoke(["translation", "delete", "Hc_1"], tiny_overrides)
    assert deleted.exit_code == 0
    again = _invoke(["translation", "delete", "Hc_1"], tiny_overrides)
    assert again.exit_code == 2 and "no user translation named 'Hc_1'" in again.output
    bad = _invoke(["translation", "save", "Hc_7", "--from-edit", str(photo), "--raw",
                   "--blond_hair", "1"], tiny_overrides)
    assert bad.exit_code == 2 and "breaks the default rule" in bad.output
    missing = _invoke(["translation", "show", "Hc_1"], tiny_overrides)
    assert missing.exit_code == 0 and json.loads(missing.output)["origin"] == "shipped"
