"""The typed configuration: defaults, YAML round trip, `section.key=value` overrides, and errors
that name the key."""
from __future__ import annotations

import pytest
import yaml

from facedit.config import Config, from_dict, load_config, save_config, to_yaml
from facedit.errors import ConfigError


def test_defaults_are_documented_values():
    cfg = Config()
    assert cfg.translation.step == 1.0
    assert cfg.postprocess.steps == ("domain", "segmentation", "foreground")
    assert cfg.postprocess.domain_margin == 42.0 and cfg.postprocess.segmentation_margin == 21.0
    assert cfg.pipeline.size == 512 and cfg.pipeline.executor == "local"
    assert cfg.projection.iterations == 0


def test_yaml_round_trip(tmp_path):
    cfg = load_config(overrides=["translation.steps={A: 3}", "gate.retries=4",
                                 "postprocess.steps=domain,foreground"])
    path = save_config(tmp_path / "c.yaml", cfg)
    assert load_config(path) == cfg
    assert yaml.safe_load(to_yaml(cfg))["translation"]["steps"] == {"A": 3.0}


def test_file_then_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("pipeline:\n  workers: 3\n  model: builtin:/x\ngate:\n  growth: 2\n")
    cfg = load_config(path, ["pipeline.workers=2"])
    assert cfg.pipeline.workers == 2  # the override wins over the file
    assert cfg.pipeline.model == "builtin:/x" and cfg.gate.growth == 2.0
    assert isinstance(cfg.gate.growth, float)


def test_override_types():
    cfg = load_config(overrides=["pipeline.model=123", "pipeline.directions=null",
                                 "postprocess.segment_output=false", "projection.lr=1e-2"])
    assert cfg.pipeline.model == "123" and cfg.pipeline.directions is None
    assert cfg.postprocess.segment_output is False and cfg.projection.lr == 0.01


@pytest.mark.parametrize("override, message", [
    ("pipeline.wokers=2", "unknown key pipeline.wokers"),
    ("pipelin.workers=2", "unknown section 'pipelin'"),
    ("pipeline.workers=two", "pipeline.workers: expected int, got str"),
    ("pipeline.workers=true", "pipeline.workers: expected int, got bool"),
    ("gate.retries=1.5", "gate.retries: expected int"),
    ("pipeline.workers=0", "pipeline.workers: expected a value in [1, 1024]"),
    ("pipeline.executor=dask", "pipeline.executor: expected one of local, ray"),
    ("postprocess.steps=[domain, blur]", "postprocess.steps: expected one of"),
    ("postprocess.steps=domain,domain", "postprocess.steps: each step at most once"),
    ("postprocess.segment_output=maybe", "postprocess.segment_output: expected bool"),
    ("translation.steps={Q: 1}", "unknown characteristic 'Q'"),
    ("translation.steps={A: big}", "translation.steps.A: expected float"),
    ("pipeline", "expected section.key=value"),
    ("pipeline.workers.x=1", "expected section.key=value"),
])
def test_bad_overrides_name_the_key(override, message):
    with pytest.raises(ConfigError, match=None) as info:
        load_config(overrides=[override])
    assert message in str(info.value)


def test_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="no such configuration file"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("pipeline: [1, 2]\n")
    with pytest.raises(ConfigError, match="pipeline: expected a mapping"):
        load_config(bad)
    bad.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="expected a mapping of sections"):
        load_config(bad)
    bad.write_text("gate:\n  colour: red\n")
    with pytest.raises(ConfigError, match="unknown key gate.colour"):
        load_config(bad)
    bad.write_text("pipeline: {workers: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


def test_config_is_frozen_and_replace_checks():
    cfg = Config()
    with pytest.raises(Exception):
        cfg.pipeline.workers = 4  # type: ignore[misc]
    assert cfg.replace(pipeline={"workers": 4}).pipeline.workers == 4
    with pytest.raises(ConfigError, match="pipeline.workers"):
        cfg.replace(pipeline={"workers": "x"})
    assert from_dict(None) == cfg and from_dict({"gate": None}) == cfg


def test_config_show_command(tmp_path):
    from click.testing import CliRunner

    from facedit.cli import main

    path = tmp_path / "c.yaml"
    path.write_text("gate:\n  retries: 5\n")
    result = CliRunner().invoke(main, ["config", "show", "--config", str(path),
                                       "--set", "pipeline.workers=2"])
    assert result.exit_code == 0, result.output
    shown = yaml.safe_load(result.output)
    assert shown["gate"]["retries"] == 5 and shown["pipeline"]["workers"] == 2
    assert from_dict(shown) == load_config(path, ["pipeline.workers=2"])
    bad = CliRunner().invoke(main, ["config", "show", "--set", "gate.retries=many"])
    assert bad.exit_code == 2 and "gate.retries: expected int" in bad.output


def test_every_key_is_documented_and_the_commented_yaml_loads(tmp_path):
    import dataclasses

    from facedit.config import _section_classes, field_docs

    for name, cls in _section_classes().items():
        docs = field_docs(cls)
        assert {f.name for f in dataclasses.fields(cls)} == set(docs), name
    cfg = load_config(overrides=["gate.retries=3"])
    text = to_yaml(cfg, comments=True)
    assert "# optimiser step size" in text
    path = tmp_path / "c.yaml"
    path.write_text(text)
    assert load_config(path) == cfg
