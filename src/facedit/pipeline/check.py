"""`facedit pipeline check OUT` and `facedit pipeline zip OUT`: a result folder against the
competition's requirements (one folder per input named after it; in each, exactly the required
variations as size x size RGB PNGs), and the submission archive."""
from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from facedit.errors import ConfigError, ImageError
from facedit.pipeline.names import parse_image_name, required_outputs

ALLOWED_TOP = {"config.yaml", "report.json", "report.html"}


@dataclass
class CheckResult:
    """missing / extra: paths relative to OUT; bad: (path, reason) of unreadable or wrong PNGs."""

    images: int = 0
    outputs: int = 0
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    bad: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.images > 0 and not (self.missing or self.extra or self.bad)

    def lines(self) -> list[str]:
        out = [f"missing: {p}" for p in self.missing] + [f"extra: {p}" for p in self.extra]
        return out + [f"bad: {p}: {why}" for p, why in self.bad]


def _png_problem(path: Path, size: int) -> str | None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            fmt, dims, mode = im.format, im.size, im.mode
            im.verify()  # chunk structure and CRCs, without decoding the pixels
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as exc:
        return f"unreadable ({exc})"
    if fmt != "PNG":
        return f"expected PNG, got {fmt}"
    if dims != (size, size):
        return f"expected {size}x{size}, got {dims[0]}x{dims[1]}"
    if mode != "RGB":
        return f"expected RGB, got {mode}"
    return None


def check_output(out: str | Path, data_dir: str | Path | None = None,
                 size: int = 512) -> CheckResult:
    """Validate a result folder. With `data_dir`, every correctly named input there must have its
    folder; without it, the folders present are checked."""
    out = Path(out)
    if not out.is_dir():
        raise ImageError(f"{out}: not a folder")
    result = CheckResult()
    expected = set()
    if data_dir is not None:
        from facedit.io import list_images
        from facedit.pipeline.names import split_names

        expected = {p.stem for p, _ in split_names(list_images(data_dir))[0]}
    entries = sorted(p for p in out.iterdir() if not p.name.startswith("."))
    folders = {p.name: p for p in entries if p.is_dir()}
    result.extra += [p.name for p in entries if p.is_file() and p.name not in ALLOWED_TOP]
    result.missing += [f"{name}/" for name in sorted(expected - set(folders))]
    for name, folder in folders.items():
        try:
            code = parse_image_name(name)
        except ConfigError:
            result.extra.append(f"{name}/")
            continue
        if data_dir is not None and name not in expected:
            result.extra.append(f"{name}/")
            continue
        result.images += 1
        required = {f"{v.name}.png" for v in required_outputs(code)}
        present = {p.name for p in folder.iterdir() if not p.name.startswith(".")}
        result.missing += [f"{name}/{f}" for f in sorted(required - present)]
        result.extra += [f"{name}/{f}" for f in sorted(present - required)]
        for f in sorted(required & present):
            problem = _png_problem(folder / f, size)
            if problem:
                result.bad.append((f"{name}/{f}", problem))
            else:
                result.outputs += 1
    return result


def zip_output(out: str | Path, archive: str | Path | None = None, size: int = 512,
               force: bool = False) -> Path:
    """Write the submission archive (default OUT.zip): `<image>/<variation>.png` entries only,
    sorted, with fixed timestamps, so the same outputs give the same archive bytes. Refuses an
    invalid folder unless `force`."""
    from facedit.io import atomic_output

    out = Path(out)
    result = check_output(out, size=size)
    if not result.ok and not force:
        shown = result.lines()[:10]
        raise ConfigError(f"{out} is not a valid submission ({len(result.lines())} problem(s): "
                          f"{'; '.join(shown) or 'no image folders'}); run `facedit pipeline "
                          f"check`, or pass --force")
    archive = Path(archive) if archive else out.with_name(out.name + ".zip")
    files = sorted(p for p in out.glob("*/*.png")
                   if not p.parent.name.startswith(".") and not p.name.startswith("."))
    with atomic_output(archive) as tmp:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as zf:
            for p in files:
                info = zipfile.ZipInfo(f"{p.parent.name}/{p.name}", date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = 0o644 << 16
                zf.writestr(info, p.read_bytes())
    return archive
