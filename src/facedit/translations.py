"""Translations: named latent offsets that the batch pipeline applies to reach each characteristic
value (SPEC §2 "Translation names").

Naming rules:
* cursor: `{c}_min`, `{c}_max` for c in Be, N, Pn, Bp, Bn, Ch (always applied);
* default: `{c}_{v}` for c in Sk, A, Se, B, Hc, D, Hs and a value v the edit can reach
  (applied when the image's value of c is not v); the hair-colour target "bald" is named `bald`;
* specific: `{c}_{new}_fr_{old}` (and `bald_fr_{old}`), applied instead of the default when the
  image's value of c is old; old may be any value an input can have (Hc 4 = bald, Hs 2 = no hair).

Precedence when a variation is resolved: user specific > user default > shipped specific >
shipped default. Shipped translations are derived from the model's directions:
`offset = step * scale * direction`, with the sign from the target of the value (see
`shipped_translations`). User translations live in a `TranslationStore` (one safetensors file of
vectors plus a JSON index, each written atomically).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np

from facedit.attributes import CHARACTERISTICS, CURSORS
from facedit.errors import ConfigError, ShapeError, WeightsError

BALD = "bald"
BALD_INPUT = 4  # Hc value of a bald input
NO_HAIR_SHAPE = 2  # Hs value of a bald input
INDICATIVE = ("C", "P")  # in the file name, never edited

# Values an edit can reach, and values an input can have, per characteristic.
TARGETS: dict[str, tuple[int, ...]] = {c: tuple(v for v in values if v != BALD)
                                       for c, values in CHARACTERISTICS.items()}
SOURCES: dict[str, tuple[int, ...]] = {**TARGETS, "Hc": (*TARGETS["Hc"], BALD_INPUT),
                                       "Hs": (*TARGETS["Hs"], NO_HAIR_SHAPE)}

RULES = {
    "cursor": f"cursor names are {{c}}_min or {{c}}_max with c one of {', '.join(CURSORS)}",
    "default": ("default names are {c}_{v} with c one of " + ", ".join(TARGETS) + " and v a "
                "value c can be edited to (" +
                "; ".join(f"{c} {','.join(map(str, v))}" for c, v in TARGETS.items()) +
                "), or `bald` for the bald hair colour"),
    "specific": ("specific names are {c}_{new}_fr_{old} (or bald_fr_{old}) with new a default "
                 "value, old a value c can have in an input (Hc up to 4 = bald, Hs up to 2) and "
                 "new != old"),
}


@dataclass(frozen=True)
class TranslationName:
    """A parsed translation name. value: "min"/"max" (cursor), an int, or "bald" (Hc)."""

    kind: str  # "cursor", "default" or "specific"
    characteristic: str
    value: object
    source: int | None = None  # the old value of a specific translation

    @property
    def name(self) -> str:
        head = BALD if self.value == BALD else f"{self.characteristic}_{self.value}"
        return head if self.source is None else f"{head}_fr_{self.source}"


def _rule_error(name: str, rule: str, detail: str) -> ConfigError:
    return ConfigError(f"translation name {name!r} breaks the {rule} rule ({detail}): "
                       f"{RULES[rule]}")


def _int(text: str) -> int | None:
    return int(text) if re.fullmatch(r"\d", text) else None


def parse_translation_name(name: str) -> TranslationName:
    """Parse a translation name, or raise `ConfigError` naming the rule it breaks.

    >>> parse_translation_name("A_0_fr_1")
    TranslationName(kind='specific', characteristic='A', value=0, source=1)
    >>> parse_translation_name("Be_max").kind
    'cursor'
    """
    if not isinstance(name, str) or not name:
        raise ConfigError(f"translation name: expected a non-empty string, got {name!r}")
    parts = name.split("_")
    if parts[0] == BALD:
        if len(parts) == 1:
            return TranslationName("default", "Hc", BALD)
        if len(parts) == 3 and parts[1] == "fr" and _int(parts[2]) in TARGETS["Hc"]:
            return TranslationName("specific", "Hc", BALD, _int(parts[2]))
        raise _rule_error(name, "specific", "bald is reached from a hair colour 0-3")
    c = parts[0]
    if c in CURSORS:
        if len(parts) != 2 or parts[1] not in ("min", "max"):
            raise _rule_error(name, "cursor", f"{c} is a cursor characteristic")
        return TranslationName("cursor", c, parts[1])
    if c in INDICATIVE:
        raise ConfigError(f"translation name {name!r}: {c} is an indicative feature, never "
                          f"edited; {RULES['default']}")
    if c not in TARGETS:
        raise ConfigError(f"translation name {name!r} follows no naming rule (unknown "
                          f"characteristic {c!r}): {RULES['cursor']}; {RULES['default']}; "
                          f"{RULES['specific']}")
    if len(parts) == 2:
        v = _int(parts[1])
        if v not in TARGETS[c]:
            raise _rule_error(name, "default", f"{parts[1]!r} is not a value {c} can be "
                                               f"edited to")
        return TranslationName("default", c, v)
    if len(parts) == 4 and parts[2] == "fr":
        new, old = _int(parts[1]), _int(parts[3])
        if new not in TARGETS[c]:
            raise _rule_error(name, "specific", f"{parts[1]!r} is not a value {c} can be "
                                                f"edited to")
        if old not in SOURCES[c]:
            raise _rule_error(name, "specific", f"{parts[3]!r} is not a value {c} can have")
        if new == old:
            raise _rule_error(name, "specific", "new equals old")
        return TranslationName("specific", c, new, old)
    rule = "specific" if "fr" in parts else "default"
    raise _rule_error(name, rule, "wrong number of parts")


def candidates(variation: str, current: int | None) -> list[str]:
    """Translation names that can make `variation` for an image whose value of the variation's
    characteristic is `current`, most specific first."""
    parsed = parse_translation_name(variation)
    if parsed.kind == "specific":
        raise ConfigError(f"{variation!r}: a variation is named like a cursor or default "
                          f"translation, not a specific one")
    if parsed.kind == "cursor" or current is None:
        return [parsed.name]
    specific = TranslationName("specific", parsed.characteristic, parsed.value, current)
    return [specific.name, parsed.name]


# -- shipped translations -----------------------------------------------------------------------

def _unit(directions, attribute: str) -> np.ndarray | None:
    """scale * direction of an attribute, or None when the model has no such direction."""
    return directions.step(attribute) if attribute in directions else None


def shipped_translations(directions, config=None) -> dict[str, np.ndarray]:
    """Translations derived from a `DirectionSet` for every characteristic value and cursor end.

    * binary characteristics (Se, B, D): `{c}_{v}` = +-step * u, the sign of (target - 0.5);
    * ordinal ones (Sk, A), whose values are levels of one attribute: `{c}_{new}_fr_{old}` =
      |new - old| / (levels - 1) * step * u (so the extreme levels are one step apart), signed
      so that it moves towards the new value's target;
    * hair colour and shape (one attribute per value): `{c}_{v}` = step * u_v, and
      `{c}_{new}_fr_{old}` = step * (u_new - u_old) (from bald: u_new - u_bald); `bald` = step *
      u_bald;
    * cursors: `{c}_min` = -step * u, `{c}_max` = +step * u.

    u = scale * direction; step from `config` (a `TranslationConfig`; default 1.0 raw step).
    Values whose attribute has no direction are left out (the pipeline then names them missing).
    Returns {name: (D,) float32}.
    """
    from facedit.config import TranslationConfig

    config = config or TranslationConfig()
    out: dict[str, np.ndarray] = {}

    def put(name, vector, factor):
        if vector is not None:
            out[name] = (np.float32(factor) * vector).astype(np.float32)

    for c, values in CHARACTERISTICS.items():
        step = config.step_for(c)
        attrs = {attr for attr, _ in values.values()}
        if len(attrs) == 1:  # one attribute, levels of it
            u = _unit(directions, attrs.pop())
            if len(TARGETS[c]) == 2:
                for v in TARGETS[c]:
                    put(f"{c}_{v}", u, step * np.sign(values[v][1] - 0.5))
            else:  # the attribute's whole gap spans the levels: one level is a part of it
                span = len(TARGETS[c]) - 1
                for new in TARGETS[c]:
                    for old in TARGETS[c]:
                        if new != old:
                            sign = np.sign(values[new][1] - values[old][1])
                            put(f"{c}_{new}_fr_{old}", u, step * abs(new - old) / span * sign)
            continue
        # One attribute per value (hair colour, hair shape).
        units = {v: _unit(directions, values[v][0]) for v in TARGETS[c]}
        bald = _unit(directions, CHARACTERISTICS["Hc"][BALD][0])
        if c == "Hc":
            put(BALD, bald, step)
        for new in TARGETS[c]:
            put(f"{c}_{new}", units[new], step)
            for old in SOURCES[c]:
                if old == new:
                    continue
                other = units.get(old, bald)
                if units[new] is not None and other is not None:
                    put(f"{c}_{new}_fr_{old}", units[new] - other, step)
    for c, (attr, _, _) in CURSORS.items():
        u = _unit(directions, attr)
        step = config.step_for(c)
        put(f"{c}_min", u, -step)
        put(f"{c}_max", u, step)
    return out


# -- the user's store ---------------------------------------------------------------------------

class TranslationStore:
    """Named latent offsets in one folder: `translations.safetensors` (the vectors) and
    `translations.json` (names, dimension, metadata). Each file is replaced atomically; a name
    is only listed once both files hold it.

    Example:
        >>> store = TranslationStore(folder)                       # doctest: +SKIP
        >>> store.save("Hc_1", offset, source="photo.jpg")         # doctest: +SKIP
    """

    INDEX = "translations.json"
    VECTORS = "translations.safetensors"

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)

    def _read(self) -> tuple[dict, dict[str, np.ndarray]]:
        index_path, vectors_path = self.folder / self.INDEX, self.folder / self.VECTORS
        if not index_path.is_file():
            return {"dim": None, "meta": {}}, {}
        from safetensors import SafetensorError
        from safetensors.numpy import load_file

        try:
            index = json.loads(index_path.read_text())
            vectors = load_file(str(vectors_path)) if vectors_path.is_file() else {}
        except (SafetensorError, OSError, ValueError) as exc:
            raise WeightsError(f"{self.folder}: corrupt translation store ({exc})") from None
        vectors = {k: v for k, v in vectors.items() if k in index.get("meta", {})}
        index["meta"] = {k: m for k, m in index.get("meta", {}).items() if k in vectors}
        return index, vectors

    def names(self) -> list[str]:
        return sorted(self._read()[1])

    def load(self) -> dict[str, np.ndarray]:
        """{name: (D,) float32} of every stored translation."""
        return self._read()[1]

    def meta(self, name: str) -> dict:
        return self._read()[0]["meta"].get(name, {})

    def __contains__(self, name: str) -> bool:
        return name in self._read()[1]

    def save(self, name: str, vector: np.ndarray, **meta) -> Path:
        """Store (or replace) `name`; the name must follow the naming rules."""
        from safetensors.numpy import save_file

        from facedit.io import atomic_output

        parse_translation_name(name)
        v = np.asarray(vector, np.float32)
        if v.ndim != 1 or not np.isfinite(v).all():
            raise ShapeError(f"translation {name!r}: expected a finite (D,) vector, got shape "
                             f"{v.shape}")
        index, vectors = self._read()
        if index.get("dim") not in (None, v.shape[0]):
            raise ShapeError(f"translation {name!r}: expected {index['dim']} dimensions (this "
                             f"store's model), got {v.shape[0]}")
        vectors[name] = v
        index = {"dim": int(v.shape[0]), "meta": {**index["meta"], name: meta}}
        self.folder.mkdir(parents=True, exist_ok=True)
        with atomic_output(self.folder / self.VECTORS) as tmp:
            save_file({k: np.ascontiguousarray(x) for k, x in sorted(vectors.items())}, str(tmp))
        with atomic_output(self.folder / self.INDEX) as tmp:
            tmp.write_text(json.dumps(index, indent=1, sort_keys=True))
        return self.folder

    def delete(self, name: str) -> None:
        from safetensors.numpy import save_file

        from facedit.io import atomic_output

        index, vectors = self._read()
        if name not in vectors:
            raise ConfigError(f"no user translation named {name!r} in {self.folder}; have: "
                              f"{', '.join(sorted(vectors)) or 'none'}")
        del vectors[name], index["meta"][name]
        # Index first: a crash in between leaves an unlisted vector, never a listed missing one.
        with atomic_output(self.folder / self.INDEX) as tmp:
            tmp.write_text(json.dumps(index, indent=1, sort_keys=True))
        with atomic_output(self.folder / self.VECTORS) as tmp:
            save_file({k: np.ascontiguousarray(x) for k, x in sorted(vectors.items())}, str(tmp))


def user_store(model_spec: str, base: str | Path | None = None) -> TranslationStore:
    """The user's store for one model: BASE/<model>, BASE = $FACEDIT_HOME/translations."""
    from facedit.paths import user_dir

    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in model_spec)
    return TranslationStore(Path(base or user_dir() / "translations") / safe)


# -- resolution ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Resolved:
    """The translation chosen for one variation of one image."""

    name: str
    origin: str  # "user" or "shipped"
    vector: np.ndarray


class Translations:
    """Shipped and user translations of one model, resolved with the SPEC's precedence.

    Example:
        >>> t = Translations({"Se_1": np.ones(2, np.float32)})
        >>> t.resolve("Se_1", current=0).name
        'Se_1'
    """

    def __init__(self, shipped: Mapping[str, np.ndarray], user: Mapping[str, np.ndarray] = None):
        self.layers = (("user", dict(user or {})), ("shipped", dict(shipped)))

    def resolve(self, variation: str, current: int | None) -> Resolved | None:
        """The translation for `variation` (an output name such as `Hc_1`, `bald`, `Be_min`) of
        an image whose value of that characteristic is `current`; None when there is none."""
        names = candidates(variation, current)
        for origin, table in self.layers:
            for name in names:
                if name in table:
                    return Resolved(name, origin, table[name])
        return None

    def all(self) -> dict[str, tuple[str, np.ndarray]]:
        """{name: (origin, vector)}, user translations hiding shipped ones of the same name."""
        out = {}
        for origin, table in reversed(self.layers):
            out.update({n: (origin, v) for n, v in table.items()})
        return dict(sorted(out.items()))


def load_translations(config) -> Translations:
    """Shipped (from the directions) and user translations for `config.pipeline.model`."""
    from facedit.directions import load_model_directions

    directions = load_model_directions(config.pipeline.model, config.pipeline.directions)
    store = user_store(config.pipeline.model, config.translation.user_dir)
    user = store.load()
    for name, v in user.items():
        if v.shape[0] != directions.dim:
            raise ConfigError(f"user translation {name!r} in {store.folder} has {v.shape[0]} "
                              f"dimensions; the model's latent has {directions.dim}")
    return Translations(shipped_translations(directions, config.translation), user)
