"""Folder jobs: run one step over many photos with a progress bar, skip and list bad files,
write every output atomically, and resume by keeping finished outputs."""
from __future__ import annotations

import json
from pathlib import Path

from tqdm import tqdm

from facedit.errors import FaceditError, ImageError


def align_folder(source: Path, out: Path, size: int = 256, all_faces: bool = False) -> dict:
    """Align a photo or every photo of a folder into `out`; returns (and writes) the report."""
    from facedit.align import detect_and_align
    from facedit.faces import FaceDetector
    from facedit.io import atomic_output, list_images, load_image, save_image

    source, out = Path(source), Path(out)
    if not source.exists():
        raise ImageError(f"{source}: no such file or folder")
    files = list_images(source) if source.is_dir() else [source]
    out.mkdir(parents=True, exist_ok=True)
    detector = FaceDetector()
    report = {"images": len(files), "aligned": 0, "kept": 0, "skipped": []}
    stems = [p.stem for p in files]
    for path in tqdm(files, desc="align", unit="img", disable=len(files) < 2):
        # a.jpg and a.png in one folder must not share an output name
        stem = path.stem if stems.count(path.stem) == 1 else path.name.replace(".", "_")
        first = out / f"{stem}.png"
        if first.exists():  # finished in an earlier run
            report["kept"] += 1
            continue
        try:
            crops = detect_and_align(load_image(path), detector, size, all_faces, label=str(path))
        except FaceditError as exc:
            report["skipped"].append({"file": str(path), "reason": str(exc)})
            continue
        # Later faces first, so that the first face's file marks a finished image.
        for i in reversed(range(len(crops))):
            save_image(out / (f"{stem}.png" if i == 0 else f"{stem}_face{i}.png"),
                       crops[i].crop)
        report["aligned"] += len(crops)
    with atomic_output(out / "align_report.json") as tmp:
        tmp.write_text(json.dumps(report, indent=1))
    if source.is_file() and report["skipped"]:
        raise FaceditError(report["skipped"][0]["reason"])
    return report
