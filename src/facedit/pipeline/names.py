"""Competition file names and the outputs each input requires (SPEC §2).

An input is named `Sk_A_Se_C_P_B_Hc_D_Hs.<ext>`; for it the run must write exactly one PNG per
variation: every other value of Sk, A, Se, B, D; the 12 cursor ends; for a non-bald input the other
hair colours among 0-3, the other hair shape and `bald` (24 outputs); for a bald input (Hc = 4)
every hair colour 0-3 and both hair shapes (25 outputs).

    >>> code = parse_image_name("0_1_0_1_0_0_2_0_1.png")
    >>> len(required_outputs(code)), len(required_outputs(parse_image_name("2_2_1_0_0_1_4_1_2")))
    (24, 25)
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from facedit.attributes import CHARACTERISTICS, CURSORS
from facedit.errors import ConfigError
from facedit.translations import BALD, BALD_INPUT, NO_HAIR_SHAPE, SOURCES, TARGETS

FIELDS = ("Sk", "A", "Se", "C", "P", "B", "Hc", "D", "Hs")
FIELD_VALUES = {**SOURCES, "C": (0, 1), "P": (0, 1)}
NAME_RULE = ("expected Sk_A_Se_C_P_B_Hc_D_Hs with Sk 0-2, A 0-2, Se 0-1, C 0-1, P 0-1, B 0-1, "
             "Hc 0-4, D 0-1, Hs 0-2 (Hs 2 only with Hc 4), e.g. 1_0_1_0_1_0_2_1_0.png")
CURSOR_OUTPUTS = tuple(f"{c}_{end}" for c in CURSORS for end in ("min", "max"))


@dataclass(frozen=True)
class ImageCode:
    """The characteristics of one input image, from its file name."""

    Sk: int
    A: int
    Se: int
    C: int
    P: int
    B: int
    Hc: int
    D: int
    Hs: int

    @property
    def bald(self) -> bool:
        return self.Hc == BALD_INPUT

    @property
    def name(self) -> str:
        return "_".join(str(getattr(self, f)) for f in FIELDS)

    def value(self, characteristic: str) -> int | None:
        """The image's value of a characteristic; None for a cursor characteristic."""
        return getattr(self, characteristic) if characteristic in FIELDS else None


@dataclass(frozen=True)
class Variation:
    """One required output: its name (also the default/cursor translation's name), the
    characteristic it changes, and the judge's attribute and target probability for it."""

    name: str
    characteristic: str
    attribute: str
    target: float


def parse_image_name(name: str | Path) -> ImageCode:
    """`"1_0_1_0_1_0_2_1_0.png"` (or a path, or the bare stem) -> ImageCode; `ConfigError`
    saying what is wrong otherwise."""
    stem = Path(name).stem if str(name).lower().endswith(_SUFFIXES) else Path(name).name
    parts = stem.split("_")
    if len(parts) != len(FIELDS):
        raise ConfigError(f"{name}: {len(parts)} fields; {NAME_RULE}")
    values = {}
    for field, text in zip(FIELDS, parts):
        if not text.isdigit() or int(text) not in FIELD_VALUES[field]:
            raise ConfigError(f"{name}: {field} = {text!r} is not one of "
                              f"{', '.join(map(str, FIELD_VALUES[field]))}; {NAME_RULE}")
        values[field] = int(text)
    if values["Hs"] == NO_HAIR_SHAPE and values["Hc"] != BALD_INPUT:
        raise ConfigError(f"{name}: Hs = 2 (no hair) needs Hc = 4 (bald); {NAME_RULE}")
    return ImageCode(**values)


_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")


def _variation(name: str, characteristic: str, value) -> Variation:
    if characteristic in CURSORS:
        attribute, low, high = CURSORS[characteristic]
        return Variation(name, characteristic, attribute, low if value == "min" else high)
    attribute, target = CHARACTERISTICS[characteristic][value]
    return Variation(name, characteristic, attribute, target)


def required_outputs(code: ImageCode) -> list[Variation]:
    """The variations an input requires, in a fixed order (SPEC §2): 24 for a non-bald input,
    25 for a bald one."""
    out = []
    for c in ("Sk", "A", "Se", "B", "D"):
        out += [_variation(f"{c}_{v}", c, v) for v in TARGETS[c] if v != code.value(c)]
    for c in CURSORS:
        out += [_variation(f"{c}_{end}", c, end) for end in ("min", "max")]
    if code.bald:
        out += [_variation(f"Hc_{v}", "Hc", v) for v in TARGETS["Hc"]]
        out += [_variation(f"Hs_{v}", "Hs", v) for v in TARGETS["Hs"]]
    else:
        out += [_variation(f"Hc_{v}", "Hc", v) for v in TARGETS["Hc"] if v != code.Hc]
        out += [_variation(f"Hs_{v}", "Hs", v) for v in TARGETS["Hs"] if v != code.Hs]
        out.append(_variation(BALD, "Hc", BALD))
    return out


def expected_count(code: ImageCode) -> int:
    return 25 if code.bald else 24


def split_names(paths) -> tuple[list[tuple[Path, ImageCode]], list[dict]]:
    """Sort files into (path, code) pairs with valid names and a list of rejected ones (each with
    the reason), so a bad name is reported and skipped, never fatal; hidden files are ignored.
    Two files with the same stem (a.png and a.jpg) are both rejected: their outputs would share
    a folder."""
    good, bad, seen = [], [], {}
    # Hidden files (a copy's or an editor's temporary files) are never inputs.
    for path in sorted(Path(p) for p in paths if not Path(p).name.startswith(".")):
        try:
            code = parse_image_name(path.name)
        except ConfigError as exc:
            bad.append({"file": path.name, "reason": str(exc)})
            continue
        seen.setdefault(path.stem, []).append((path, code))
    for stem, items in sorted(seen.items()):
        if len(items) > 1:
            bad += [{"file": p.name, "reason": f"{p.name}: another file has the stem {stem}; "
                     f"their outputs would share one folder"} for p, _ in items]
        else:
            good.append(items[0])
    return good, bad
