"""The face datasets in `shared/data` (CelebA, UTKFace): their files, labels and a fixed split.

The split is by person for CelebA (`identity_CelebA.txt`), so no test person is seen in training,
and by file for UTKFace (it has no identities). A record's split is a hash of its person (or file),
hence fixed forever and independent of which other files are present: 80% train, 10% validation,
10% test.
"""
from __future__ import annotations

import csv
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facedit.errors import ConfigError

CELEBA_ATTRIBUTES = (
    "5_o_Clock_Shadow", "Arched_Eyebrows", "Attractive", "Bags_Under_Eyes", "Bald", "Bangs",
    "Big_Lips", "Big_Nose", "Black_Hair", "Blond_Hair", "Blurry", "Brown_Hair", "Bushy_Eyebrows",
    "Chubby", "Double_Chin", "Eyeglasses", "Goatee", "Gray_Hair", "Heavy_Makeup", "High_Cheekbones",
    "Male", "Mouth_Slightly_Open", "Mustache", "Narrow_Eyes", "No_Beard", "Oval_Face", "Pale_Skin",
    "Pointy_Nose", "Receding_Hairline", "Rosy_Cheeks", "Sideburns", "Smiling", "Straight_Hair",
    "Wavy_Hair", "Wearing_Earrings", "Wearing_Hat", "Wearing_Lipstick", "Wearing_Necklace",
    "Wearing_Necktie", "Young",
)
SPLITS = ("train", "val", "test")
# The prepared sources cut from CelebA's own photos (aligned and wild crops), with its 40 labels.
CELEBA_CROPS = ("celeba_aligned", "celeba_wild")


@dataclass(frozen=True)
class Record:
    """One source image and its labels. Unknown labels are 0 (attrs) or -1 (age, gender, race).

    attrs: 40 values in CELEBA_ATTRIBUTES order, +1 present / -1 absent / 0 unknown.
    gender: 0 male, 1 female (UTKFace coding). race: UTKFace's 0-4.
    """

    path: Path
    source: str
    split: str
    attrs: tuple[int, ...]
    age: float = -1.0
    gender: int = -1
    race: int = -1


def split_of(key: str) -> str:
    bucket = zlib.crc32(key.encode()) % 10
    return "train" if bucket < 8 else ("val" if bucket == 8 else "test")


def celeba_identities(id_file: Path) -> dict[str, str]:
    """CelebA's `identity_CelebA.txt`: image file name -> person id."""
    return dict(line.split() for line in Path(id_file).read_text().splitlines() if line.strip())


def celeba_records(root: Path) -> list[Record]:
    """CelebA's aligned and wild crops with their 40 attributes, split by person."""
    base = Path(root) / "celeba"
    attr_file, id_file = base / "list_attr_celeba.txt", base / "identity_CelebA.txt"
    for f in (attr_file, id_file):
        if not f.is_file():
            raise ConfigError(f"{f}: missing; is {root} the shared data folder?")
    lines = attr_file.read_text().splitlines()
    names = lines[1].split()
    if tuple(names) != CELEBA_ATTRIBUTES:
        raise ConfigError(f"{attr_file}: unexpected attribute names {names[:3]}...")
    attrs = {}
    for line in lines[2:]:
        parts = line.split()
        if len(parts) == 41:
            attrs[parts[0]] = tuple(int(v) for v in parts[1:])
    identity = celeba_identities(id_file)
    records = []
    for folder in ("aligned", "wild"):
        for path in sorted((base / folder).glob("*.jpg")):
            if path.name in attrs and path.name in identity:
                records.append(Record(path, f"celeba_{folder}", split_of("celeba" + identity[path.name]),
                                      attrs[path.name]))
    return records


def utkface_records(root: Path) -> list[Record]:
    """UTKFace crops with age, gender and race, split by file."""
    base = Path(root) / "utkface"
    labels = base / "labels.csv"
    if not labels.is_file():
        raise ConfigError(f"{labels}: missing; is {root} the shared data folder?")
    records = []
    with labels.open() as fh:
        for row in csv.DictReader(fh):
            path = base / row["file"]
            if path.is_file():
                records.append(Record(path, "utkface", split_of("utk" + row["file"]), (0,) * 40,
                                      float(row["age"]), int(row["gender"]), int(row["race"])))
    return sorted(records, key=lambda r: r.path.name)


def all_records(root: Path) -> list[Record]:
    """Every record, in a fixed order: CelebA aligned, CelebA wild, UTKFace (each by name)."""
    return celeba_records(root) + utkface_records(root)


def label_arrays(records: list[Record]) -> dict[str, np.ndarray]:
    """Column arrays of the records' labels, for `np.savez`."""
    return {
        "attrs": np.array([r.attrs for r in records], dtype=np.int8).reshape(-1, 40),
        "age": np.array([r.age for r in records], dtype=np.float32),
        "gender": np.array([r.gender for r in records], dtype=np.int8),
        "race": np.array([r.race for r in records], dtype=np.int8),
        "split": np.array([SPLITS.index(r.split) for r in records], dtype=np.int8),
        "source": np.array([r.source for r in records]),
        "name": np.array([r.path.name for r in records]),
    }
