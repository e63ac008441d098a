"""One typed configuration for projection, translations, post-processing, the quality gate and the
batch pipeline: frozen dataclasses with documented defaults, YAML files and `section.key=value`
overrides.

    >>> cfg = load_config(overrides=["translation.step=2.5", "pipeline.workers=2"])
    >>> cfg.translation.step, cfg.pipeline.workers
    (2.5, 2)
    >>> to_yaml(cfg).splitlines()[0]
    'projection:'

Unknown sections or keys and values of the wrong type raise `ConfigError` naming the key.
"""
from __future__ import annotations

import dataclasses
import re
import textwrap
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Union

import yaml

from facedit.errors import ConfigError

_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
POSTPROCESS_STEPS = ("domain", "segmentation", "foreground")
EXECUTORS = ("local", "ray")


@dataclass(frozen=True)
class ProjectionConfig:
    """How a face's latent code is found: the encoder's code, optionally refined by optimisation
    of the decoding against the aligned crop (SPEC §2 "Projection")."""

    iterations: int = 0  # optimisation steps after the encoder; 0 = the encoder's code only
    optimizer: str = "adam"  # "adam" or "lbfgs"
    lr: float = 0.05  # optimiser step size
    mse_weight: float = 1.0  # pixel MSE of the decoding against the crop
    edge_weight: float = 0.5  # L1 of image gradients: a cheap stand-in for a perceptual loss
    regularizer: float = 0.01  # pull towards the encoder's code (keeps the code editable)

    def __post_init__(self):
        _check_range("projection.iterations", self.iterations, 0, 10_000)
        _check_choice("projection.optimizer", self.optimizer, ("adam", "lbfgs"))
        _check_range("projection.lr", self.lr, 1e-6, 10.0)
        for key in ("mse_weight", "edge_weight", "regularizer"):
            _check_range(f"projection.{key}", getattr(self, key), 0.0, 1e6)


@dataclass(frozen=True)
class TranslationConfig:
    """Shipped translations: a characteristic value's offset is `step * scale * direction`, in
    raw steps: 1 = the gap between the mean codes of faces with and without the attribute."""

    step: float = 1.0  # raw steps of every shipped translation
    steps: dict[str, float] = field(default_factory=dict)  # per characteristic, e.g. {"A": 2.5}
    user_dir: Union[str, None] = None  # user translations [default: $FACEDIT_HOME/translations]

    def __post_init__(self):
        _check_range("translation.step", self.step, 0.0, 20.0)
        from facedit.attributes import CHARACTERISTICS, CURSORS

        for key, value in self.steps.items():
            if key not in CHARACTERISTICS and key not in CURSORS:
                raise ConfigError(f"translation.steps: unknown characteristic {key!r}; expected "
                                  f"one of {', '.join([*CHARACTERISTICS, *CURSORS])}")
            _check_range(f"translation.steps.{key}", value, 0.0, 20.0)

    def step_for(self, characteristic: str) -> float:
        return float(self.steps.get(characteristic, self.step))


@dataclass(frozen=True)
class PostprocessConfig:
    """The blend of each edit into the photo (SPEC §2 post-processing), in the order listed:
    "domain" (a coarse box around the characteristic's part), "segmentation" (the part itself from
    the landmarks, union over input and output), "foreground" (the background never changes).
    Margins are the blend rule's ramp widths in pixels of a 512 px photo."""

    steps: tuple[str, ...] = POSTPROCESS_STEPS  # any of domain, segmentation, foreground
    domain_margin: float = 42.0  # blend ramp around the domain box (the source: 42)
    segmentation_margin: float = 21.0  # blend ramp around the face part (the source: 21)
    segment_output: bool = True  # also find the parts in the edited face (union with the input's)
    foreground_margin: float = 6.0  # inward ramp from the person's outline
    foreground_threshold: float = 0.5  # person probability above which a pixel is foreground
    intermediate: bool = False  # also save the result after each step (OUT/.steps/...)

    def __post_init__(self):
        for step in self.steps:
            _check_choice("postprocess.steps", step, POSTPROCESS_STEPS)
        if len(set(self.steps)) != len(self.steps):
            raise ConfigError(f"postprocess.steps: each step at most once, got {list(self.steps)}")
        for key in ("domain_margin", "segmentation_margin", "foreground_margin"):
            _check_range(f"postprocess.{key}", getattr(self, key), 0.0, 512.0)
        _check_range("postprocess.foreground_threshold", self.foreground_threshold, 0.0, 1.0)


@dataclass(frozen=True)
class GateConfig:
    """The quality gate: the judge reads each output; a failed edit is retried up to `retries`
    times with its offset multiplied by `growth` (divided, when it went past an intermediate
    target); what still fails is replaced by a copy of the input (`on_fail: copy`) or kept
    (`keep`), and flagged either way."""

    enabled: bool = True  # judge every output (false: no judge is loaded)
    retries: int = 2  # stronger attempts after a failed one
    growth: float = 1.5  # strength factor of each retry (1.5, 2.25, ...)
    tolerance: float = 0.2  # for intermediate targets (e.g. age 0.5): |reading - target| allowed
    on_fail: str = "copy"  # "copy" (the input stands in) or "keep" (the last attempt)
    identity_max: float = 0.5  # RMS latent drift off the edit's own direction that gets flagged
    background_min_psnr: float = 40.0  # dB over the background below which an output is flagged

    def __post_init__(self):
        _check_range("gate.retries", self.retries, 0, 10)
        _check_range("gate.growth", self.growth, 1.0, 10.0)
        _check_range("gate.tolerance", self.tolerance, 0.0, 1.0)
        _check_choice("gate.on_fail", self.on_fail, ("copy", "keep"))
        _check_range("gate.identity_max", self.identity_max, 0.0, 1e6)
        _check_range("gate.background_min_psnr", self.background_min_psnr, 0.0, 1000.0)


@dataclass(frozen=True)
class PipelineConfig:
    """The batch run: which models, how outputs are written, how work is spread."""

    model: str = "builtin"  # backend spec (see facedit.models.backend)
    directions: Union[str, None] = None  # direction folder [default: the model's own]
    judge: Union[str, None] = None  # classifier folder [default: the shipped classifier]
    size: int = 512  # side of every output image
    blend_size: int = 256  # side of the aligned crop the edit is blended in
    png_compression: int = 1  # 0 (fast, big) .. 9 (slow, small); the pixels are the same
    workers: int = 1  # worker processes (or Ray actors), each with its own models
    executor: str = "local"  # "local" (processes) or "ray"
    address: Union[str, None] = None  # Ray cluster address [default: a local instance]
    threads: int = 1  # torch threads per worker; fixed so every executor gives the same bytes

    def __post_init__(self):
        _check_range("pipeline.size", self.size, 64, 4096)
        _check_range("pipeline.blend_size", self.blend_size, 32, 1024)
        _check_range("pipeline.png_compression", self.png_compression, 0, 9)
        _check_range("pipeline.workers", self.workers, 1, 1024)
        _check_choice("pipeline.executor", self.executor, EXECUTORS)
        _check_range("pipeline.threads", self.threads, 1, 256)


@dataclass(frozen=True)
class Config:
    projection: ProjectionConfig = field(default_factory=ProjectionConfig)
    translation: TranslationConfig = field(default_factory=TranslationConfig)
    postprocess: PostprocessConfig = field(default_factory=PostprocessConfig)
    gate: GateConfig = field(default_factory=GateConfig)
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)

    def to_dict(self) -> dict:
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def replace(self, **sections) -> "Config":
        """A copy with whole sections, or `{section: {key: value}}` updates, replaced."""
        data = self.to_dict()
        for name, value in sections.items():
            if dataclasses.is_dataclass(value):
                value = _plain(value)
            if name not in data or not isinstance(value, Mapping):
                raise ConfigError(f"unknown section {name!r} or not a mapping")
            data[name] = {**data[name], **value}
        return from_dict(data)


SECTIONS = {f.name: f.type for f in dataclasses.fields(Config)}


def _section_classes() -> dict[str, type]:
    hints = typing.get_type_hints(Config)
    return {name: hints[name] for name in SECTIONS}


# -- checks -------------------------------------------------------------------------------------

def _check_range(key: str, value, lo, hi) -> None:
    if not lo <= value <= hi:
        raise ConfigError(f"{key}: expected a value in [{lo}, {hi}], got {value!r}")


def _check_choice(key: str, value, choices) -> None:
    if value not in choices:
        raise ConfigError(f"{key}: expected one of {', '.join(choices)}, got {value!r}")


def _coerce(key: str, value: Any, kind: Any) -> Any:
    """`value` as type `kind` (int, float, str, bool, Optional, tuple[str, ...], dict[str, float]),
    or `ConfigError` naming `key`, the expected type and what came."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(key, value, inner[0])
    if kind is bool:
        if isinstance(value, bool):
            return value
    elif kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif kind is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
            return float(value)  # YAML 1.1 reads 1e-2 (no dot) as text
    elif kind is str:
        if isinstance(value, str):
            return value
    elif origin is tuple:
        if isinstance(value, str):  # "a,b" on the command line
            value = [v.strip() for v in value.split(",") if v.strip()]
        if isinstance(value, (list, tuple)):
            return tuple(_coerce(f"{key}[{i}]", v, args[0]) for i, v in enumerate(value))
    elif origin is dict:
        if isinstance(value, Mapping):
            return {_coerce(f"{key} (a key)", k, args[0]): _coerce(f"{key}.{k}", v, args[1])
                    for k, v in value.items()}
    name = getattr(kind, "__name__", str(kind))
    raise ConfigError(f"{key}: expected {name}, got {type(value).__name__} {value!r}")


def _plain(value):
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


# -- building -----------------------------------------------------------------------------------

def from_dict(data: Mapping | None) -> Config:
    """A `Config` from nested mappings; missing keys keep their defaults."""
    if data is None:
        return Config()
    if not isinstance(data, Mapping):
        raise ConfigError(f"configuration: expected a mapping of sections, got "
                          f"{type(data).__name__}")
    classes = _section_classes()
    sections = {}
    for name, values in data.items():
        if name not in classes:
            raise ConfigError(f"unknown section {name!r}; expected one of {', '.join(classes)}")
        if values is None:
            continue
        if not isinstance(values, Mapping):
            raise ConfigError(f"{name}: expected a mapping of keys, got {type(values).__name__}")
        cls = classes[name]
        hints = typing.get_type_hints(cls)
        kwargs = {}
        for key, value in values.items():
            if key not in hints:
                raise ConfigError(f"unknown key {name}.{key}; {name} has "
                                  f"{', '.join(hints)}")
            kwargs[key] = _coerce(f"{name}.{key}", value, hints[key])
        sections[name] = cls(**kwargs)
    return Config(**sections)


def parse_override(text: str) -> tuple[str, str, Any]:
    """`"section.key=value"` -> (section, key, value parsed as YAML)."""
    path, eq, raw = text.partition("=")
    parts = path.strip().split(".")
    if not eq or len(parts) != 2 or not all(parts):
        raise ConfigError(f"override {text!r}: expected section.key=value, e.g. "
                          f"pipeline.workers=2")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw
    return parts[0], parts[1], value


def load_config(path: str | Path | None = None, overrides: Iterable[str] = ()) -> Config:
    """The defaults, updated by a YAML file and then by `section.key=value` overrides."""
    data: dict = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"{path}: no such configuration file")
        try:
            loaded = yaml.safe_load(path.read_text())
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML ({exc})") from None
        if loaded is not None and not isinstance(loaded, Mapping):
            raise ConfigError(f"{path}: expected a mapping of sections, got "
                              f"{type(loaded).__name__}")
        data = {k: dict(v) if isinstance(v, Mapping) else v for k, v in (loaded or {}).items()}
        from_dict(data)  # report file errors as the file's, before overrides
    for text in overrides:
        section, key, value = parse_override(text)
        if section not in SECTIONS:
            raise ConfigError(f"override {text!r}: unknown section {section!r}; expected one of "
                              f"{', '.join(SECTIONS)}")
        if not isinstance(data.get(section), dict):
            data[section] = {}
        hint = typing.get_type_hints(_section_classes()[section]).get(key)
        if value is not None and not isinstance(value, str) and hint in (str, Union[str, None]):
            value = text.partition("=")[2].strip()  # `pipeline.model=123` means the text "123"
        data[section][key] = value
    return from_dict(data)


def field_docs(cls) -> dict[str, str]:
    """{key: its comment} from the `key: type = default  # comment` lines of a section class:
    the defaults are documented once, in the source, and `facedit config show` prints them."""
    import inspect

    docs = {}
    for line in inspect.getsource(cls).splitlines():
        m = re.match(r"\s+(\w+): [^=]+=.*?#\s*(.+)$", line)
        if m:
            docs[m.group(1)] = m.group(2).strip()
    return docs


def to_yaml(config: Config, comments: bool = False) -> str:
    """The configuration as YAML, sections in their fixed order; with `comments`, each section's
    docstring and each key's comment (a loader ignores them, so the text still loads)."""
    text = yaml.safe_dump(config.to_dict(), sort_keys=False, default_flow_style=False)
    if not comments:
        return text
    classes, lines, docs = _section_classes(), [], {}
    for line in text.splitlines():
        if line and not line.startswith(" "):  # a section
            cls = classes[line.rstrip(":")]
            docs = field_docs(cls)
            summary = " ".join((cls.__doc__ or "").split())
            lines += [f"# {part}" for part in textwrap.wrap(summary, 96)]
            lines.append(line)
            continue
        key = line.strip().split(":")[0]
        if line.startswith("  ") and not line.startswith("   ") and key in docs:
            line = f"{line}  # {docs[key]}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def save_config(path: str | Path, config: Config) -> Path:
    """Write the configuration as YAML, atomically."""
    from facedit.io import atomic_output

    with atomic_output(path) as tmp:
        tmp.write_text(to_yaml(config))
    return Path(path)
