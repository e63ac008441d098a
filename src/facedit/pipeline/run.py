"""`facedit pipeline run DATA_DIR -o OUT`: every input of a competition folder to every required
variation, resumably.

OUT holds one folder per input (`OUT/<image name>/<variation>.png`), the effective configuration
(`config.yaml`), the report (`report.json`, `report.html`), and two hidden folders: `.records/`
(one JSON per finished image, written after its PNGs) and `.steps/` (intermediate results when
asked for). Every file is written atomically, so a killed run leaves no partial PNG, and a rerun
skips every image whose PNGs and record are all there.
"""
from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Callable

from facedit.errors import ConfigError, ImageError
from facedit.io import atomic_output, list_images
from facedit.pipeline.names import required_outputs, split_names
from facedit.pipeline.render import Job

RECORDS, STEPS = ".records", ".steps"
# Settings that do not change a single output byte; a resumed run may change them.
NEUTRAL = {("pipeline", "workers"), ("pipeline", "executor"), ("pipeline", "address"),
           ("postprocess", "intermediate")}

# Test hook: called with each PNG path right after it is written (a test raises here to simulate
# a run killed between two files).
_after_write: Callable[[Path], None] | None = None


def run_pipeline(data_dir: str | Path, out: str | Path, config=None, progress: bool = True,
                 renderer=None) -> dict:
    """Render every required output of every correctly named image in `data_dir` into `out`.

    Args:
        config: a `facedit.config.Config` (default: the defaults).
        renderer: an already built `Renderer` for in-process runs (its editor is reused).
    Returns:
        The report (also written to OUT/report.json and OUT/report.html).
    Raises:
        ConfigError: no usable input, a translation a required output needs is missing, or OUT
            was made with different output settings.
    """
    from tqdm import tqdm

    from facedit.config import Config, save_config
    from facedit.pipeline.executors import run_jobs
    from facedit.pipeline.report import build_report, write_report

    config = config or Config()
    data_dir, out = Path(data_dir), Path(out)
    # 1. check inputs, before any model work
    if not data_dir.is_dir():
        raise ImageError(f"{data_dir}: not a folder")
    good, rejected = split_names(list_images(data_dir))
    if not good:
        raise ConfigError(f"{data_dir}: no image named Sk_A_Se_C_P_B_Hc_D_Hs "
                          f"({len(rejected)} file(s) rejected)")
    _check_same_settings(out, config)
    offsets = resolve_offsets(config, [code for _, code in good])
    # 2. plan: finished images are kept
    jobs, records = [], {}
    for path, code in good:
        required = [v.name for v in required_outputs(code)]
        done = frozenset(n for n in required if (out / path.stem / f"{n}.png").is_file())
        record = _read_record(out, path.stem)
        if len(done) == len(required) and record is not None:
            records[path.stem] = record
            continue
        jobs.append(Job(path.stem, path.name, path.read_bytes(), code,
                        {n: offsets[(code.name, n)] for n in required}, done))
    out.mkdir(parents=True, exist_ok=True)
    _remove_stale_parts(out)
    save_config(out / "config.yaml", config)
    # 3. render (on the configured executor) and write
    kept, failed = len(records), []
    start = time.perf_counter()
    with tqdm(total=len(good), initial=kept, unit="img", desc="pipeline",
              disable=not progress) as bar:
        for result in run_jobs(config, jobs, renderer):
            if result.record["status"] == "unreadable":
                failed.append({"file": result.record["file"], "reason": result.record["error"]})
            else:
                write_result(out, result)
                records[result.stem] = result.record
            bar.update(1)
    seconds = time.perf_counter() - start
    # 4. report
    report = build_report(data_dir, out, config, [records[p.stem] for p, _ in good
                                                  if p.stem in records],
                          rejected + failed, rendered=len(jobs) - len(failed), kept=kept,
                          seconds=seconds)
    write_report(out, report)
    return report


def resolve_offsets(config, codes) -> dict:
    """{(image code, variation): (translation name, origin, vector)} for every required output,
    or `ConfigError` naming each missing translation (the run would make too few outputs)."""
    from facedit.translations import candidates, load_translations

    translations = load_translations(config)
    out, missing = {}, {}
    for code in codes:
        for v in required_outputs(code):
            current = code.value(v.characteristic)
            resolved = translations.resolve(v.name, current)
            if resolved is None:
                missing.setdefault(" or ".join(candidates(v.name, current)), []).append(code.name)
                continue
            out[(code.name, v.name)] = (resolved.name, resolved.origin, resolved.vector)
    if missing:
        lines = [f"{names} (needed by {len(images)} image(s), e.g. {images[0]})"
                 for names, images in sorted(missing.items())]
        raise ConfigError("the run would make fewer outputs than required; missing "
                          "translations: " + "; ".join(lines) + ". Save them with `facedit "
                          "translation save` or use a model whose directions cover them")
    return out


def write_result(out: Path, result) -> None:
    """Write an image's PNGs (and intermediate steps), then its record: a record on disk means
    every PNG before it is complete."""
    folder = out / result.stem
    for name, data in result.files.items():
        _write_bytes(folder / f"{name}.png", data)
    for step, files in result.steps.items():
        for name, data in files.items():
            _write_bytes(out / STEPS / step / result.stem / f"{name}.png", data, hook=False)
    with atomic_output(out / RECORDS / f"{result.stem}.json") as tmp:
        tmp.write_text(json.dumps(result.record, indent=1))


def _write_bytes(path: Path, data: bytes, hook: bool = True) -> None:
    with atomic_output(path) as tmp:
        tmp.write_bytes(data)
    if hook and _after_write is not None:
        _after_write(path)


def _remove_stale_parts(out: Path) -> None:
    """Delete the hidden temporary files (`.NAME.<hex>.part.png`) that a run killed in the middle
    of a write leaves beside its outputs; the outputs themselves are never partial."""
    for path in out.rglob(".*.part*"):
        if path.is_file() and re.fullmatch(r"\..+\.[0-9a-f]{12}\.part(\.\w+)?", path.name):
            path.unlink(missing_ok=True)


def _read_record(out: Path, stem: str) -> dict | None:
    path = out / RECORDS / f"{stem}.json"
    try:
        return json.loads(path.read_text()) if path.is_file() else None
    except (OSError, ValueError):
        return None  # unreadable: the image is rendered again


def _check_same_settings(out: Path, config) -> None:
    """A resumed run must not mix outputs made with different settings."""
    from facedit.config import load_config

    saved_path = out / "config.yaml"
    if not saved_path.is_file():
        return
    saved = load_config(saved_path).to_dict()
    now = config.to_dict()
    changed = [f"{s}.{k}" for s in now for k in now[s]
               if (s, k) not in NEUTRAL and saved[s][k] != now[s][k]]
    if changed:
        raise ConfigError(f"{out} was made with other settings ({', '.join(changed)} differ "
                          f"from {saved_path}); use a new output folder or the same settings")
