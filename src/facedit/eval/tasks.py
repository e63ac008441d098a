"""What an evaluation edits, and on which photos: tasks parsed from `--edits`, the photos' labels
(CelebA's, a CSV file's, or the judge's reading of the input) and the photos each task uses.

An edit name is an attribute (`smile`, `eyeglasses`, any catalogue name) or `mirror`:

* `NAME` evaluates both sides: NAME added to photos without it (task `NAME_add`) and removed
  from photos with it (`NAME_remove`);
* `NAME+` only adds, `NAME-` only removes;
* `mirror` morphs each face halfway into its left-right mirror image (the second source's
  interpolate_lr) on every photo.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facedit.attributes import resolve
from facedit.errors import ConfigError

MIRROR = "mirror"
ADD_TARGET, REMOVE_TARGET = 0.95, 0.05  # the judge's probability a calibrated edit aims for


@dataclass(frozen=True)
class Task:
    """One evaluated edit. attribute/label are None for the mirror task."""

    name: str  # e.g. "smiling_add", "mirror"
    attribute: str | None  # facedit attribute name
    label: str | None  # the judge's (CelebA) label
    target: float | None  # target probability

    @property
    def adds(self) -> bool:
        return self.target is not None and self.target > 0.5

    @property
    def is_mirror(self) -> bool:
        return self.attribute is None

    def wants(self, present: bool) -> bool:
        """Whether a photo whose attribute is `present` is an input of this task."""
        return True if self.is_mirror else present != self.adds


def parse_edits(spec: str, add_target: float = ADD_TARGET,
                remove_target: float = REMOVE_TARGET) -> list[Task]:
    """`"smile+,eyeglasses,mirror"` -> tasks, in order: additions aim for the judge's
    probability `add_target` (in (0.5, 1)), removals for `remove_target` (in (0, 0.5)).
    Raises ConfigError on unknown names or targets out of range."""
    if not 0.5 < add_target < 1.0:
        raise ConfigError(f"add target: expected a probability in (0.5, 1), got {add_target}")
    if not 0.0 < remove_target < 0.5:
        raise ConfigError(f"remove target: expected a probability in (0, 0.5), "
                          f"got {remove_target}")
    tasks: list[Task] = []
    for raw in (s.strip() for s in spec.split(",")):
        if not raw:
            continue
        if raw.lower() == MIRROR:
            tasks.append(Task(MIRROR, None, None, None))
            continue
        sides = {"+": ("add",), "-": ("remove",)}.get(raw[-1], ("add", "remove"))
        attr = resolve(raw.rstrip("+-"))
        if attr.label == "age" or attr.group == "custom":
            raise ConfigError(f"--edits: {raw!r} has no yes/no label to judge success by; use a "
                              f"CelebA attribute or mirror")
        for side in sides:
            target = add_target if side == "add" else remove_target
            tasks.append(Task(f"{attr.name}_{side}", attr.name, attr.label, target))
    if not tasks:
        raise ConfigError(f"--edits: expected attribute names or mirror, got {spec!r}")
    names = [t.name for t in tasks]
    if len(set(names)) != len(names):
        raise ConfigError(f"--edits: a task is asked for twice in {spec!r}")
    return tasks


# -- photos and their labels ---------------------------------------------------------------------

@dataclass(frozen=True)
class Photo:
    """A photo to evaluate on. labels: {CelebA label: present} where known (empty: the judge's
    reading of the input decides)."""

    path: Path
    labels: dict


def is_shared_data(root: Path) -> bool:
    """Whether `root` is the shared data folder (CelebA with its label files)."""
    return (Path(root) / "celeba" / "list_attr_celeba.txt").is_file()


def celeba_photos(root: Path, split: str = "test", seed: int = 0) -> list[Photo]:
    """CelebA wild photos of one split (by person, `facedit.data.sources`), in a fixed shuffled
    order, with their 40 labels."""
    from facedit.data.sources import CELEBA_ATTRIBUTES, celeba_records

    records = [r for r in celeba_records(Path(root))
               if r.split == split and r.source == "celeba_wild"]
    order = np.random.default_rng(seed).permutation(len(records))
    return [Photo(records[i].path, {a: v > 0 for a, v in zip(CELEBA_ATTRIBUTES, records[i].attrs)
                                    if v != 0}) for i in order]


def folder_photos(folder: Path, labels_file: Path | None = None) -> list[Photo]:
    """Every image file in `folder` (sorted), with labels from a CSV file if given."""
    from facedit.io import list_images

    labels = read_labels(labels_file) if labels_file is not None else {}
    return [Photo(p, labels.get(p.name, {})) for p in list_images(folder)]


def read_labels(path: Path) -> dict[str, dict[str, bool]]:
    """A CSV file `name,Attr1,Attr2,...` (header row; values 1 / -1, 1 / 0, true / false) ->
    {file name: {label: present}}. Attribute columns may be CelebA labels or facedit names."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"--labels: {path} is not a file")
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    if not rows or len(rows[0]) < 2 or rows[0][0].strip().lower() not in ("name", "file", "image"):
        raise ConfigError(f"{path}: expected a header 'name,ATTRIBUTE,...', got "
                          f"{','.join(rows[0]) if rows else 'an empty file'}")
    columns = [resolve(c).label for c in rows[0][1:]]
    out = {}
    for line, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) != len(rows[0]):
            raise ConfigError(f"{path}:{line}: expected {len(rows[0])} fields, got {len(row)}")
        out[row[0].strip()] = {c: _truth(v, path, line) for c, v in zip(columns, row[1:])}
    return out


def _truth(value: str, path: Path, line: int) -> bool:
    v = value.strip().lower()
    if v in ("1", "true", "yes", "y"):
        return True
    if v in ("-1", "0", "false", "no", "n"):
        return False
    raise ConfigError(f"{path}:{line}: expected 1/-1, 1/0 or true/false, got {value!r}")


def select(photos: list[Photo], task: Task, n: int, present_of,
           pool: list[Photo] | None = None, max_refs: int | None = None) -> tuple[list, list]:
    """The task's inputs (photos lacking the target value, at most n) and its real references
    (photos of `pool` [default: `photos`] that have it, at most `max_refs` [default: n], none of
    them an input, taken from the pool's end so that they overlap the inputs' people as little
    as possible). For mirror, references are any pool photos that are not inputs.

    present_of(photo) -> bool | None: whether the photo has the task's attribute (None: unknown,
    the photo is not used).
    """
    pool = photos if pool is None else pool
    max_refs = n if max_refs is None else max_refs
    if task.is_mirror:
        inputs = photos[:n]
        used = {p.path for p in inputs}
        refs = [p for p in pool if p.path not in used][:max_refs]
        return inputs, refs or inputs
    inputs, refs = [], []
    for p in photos:
        if len(inputs) < n and present_of(p) is not None and task.wants(present_of(p)):
            inputs.append(p)
    used = {p.path for p in inputs}
    for p in reversed(pool):
        if len(refs) < max_refs and p.path not in used and present_of(p) is not None \
                and present_of(p) == task.adds:
            refs.append(p)
    return inputs, refs
