"""`facedit data prepare`: align every shared-data image into a cached training set.

The work is cut into chunks of `CHUNK` records, each aligned by a worker process and written
atomically to `chunks/NNNN.npz`; a finished chunk is never redone, so an interrupted run resumes.
When all chunks exist they are joined into the prepared set:

    <cache>/images.npy    (N, S, S, 3) uint8 RGB aligned crops (memory-mappable)
    <cache>/mesh.npy      (N, 478, 2) float16 landmarks in crop pixels
    <cache>/labels.npz    attrs (N, 40) int8 +1/-1/0, age, gender, race, split, source, name
    <cache>/summary.json  counts per source and split, faceless images dropped, the settings

Records whose image is unreadable or faceless are dropped and counted.
"""
from __future__ import annotations

import json
import multiprocessing as mp
from pathlib import Path

import numpy as np
from tqdm import tqdm

from facedit.data.sources import SPLITS, Record, all_records, label_arrays
from facedit.io import atomic_output

CHUNK = 512
MESH_POINTS = 478


def prepare(data_root: Path, cache: Path, size: int = 128, workers: int = 2,
            limit: int | None = None) -> dict:
    """Build (or finish building) the prepared set in `cache`; returns the summary."""
    cache = Path(cache)
    records = all_records(Path(data_root))
    if limit:
        records = records[:limit]
    chunk_dir = cache / "chunks"
    chunk_dir.mkdir(parents=True, exist_ok=True)
    jobs = [(k, records[i:i + CHUNK], size, chunk_dir / f"{k:04d}.npz")
            for k, i in enumerate(range(0, len(records), CHUNK))]
    todo = [job for job in jobs if not job[3].exists()]
    with tqdm(total=len(records), initial=(len(jobs) - len(todo)) * CHUNK, desc="prepare",
              unit="img") as bar:
        if workers > 1 and len(todo) > 1:
            with mp.get_context("spawn").Pool(workers) as pool:
                for n in pool.imap_unordered(_run_chunk, todo):
                    bar.update(n)
        else:
            for job in todo:
                bar.update(_run_chunk(job))
    return _join(records, jobs, cache, size)


_DETECTOR = None


def _run_chunk(job) -> int:
    """Align one chunk of records and write it; returns the number of records processed."""
    global _DETECTOR
    from facedit.align import align
    from facedit.errors import FaceditError
    from facedit.faces import FaceDetector
    from facedit.io import load_image

    _, records, size, out = job
    if _DETECTOR is None:
        _DETECTOR = FaceDetector()
    images = np.zeros((len(records), size, size, 3), np.uint8)
    mesh = np.zeros((len(records), MESH_POINTS, 2), np.float16)
    ok = np.zeros(len(records), bool)
    for i, record in enumerate(records):
        try:
            image = load_image(record.path)
            face = _DETECTOR.largest(image, str(record.path))
        except FaceditError:
            continue
        aligned = align(image, face, size)
        images[i], mesh[i], ok[i] = aligned.crop, aligned.face.mesh[:, :2], True
    with atomic_output(out) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, images=images, mesh=mesh, ok=ok)
    return len(records)


def write_set(cache: Path, chunks, n: int, size: int, labels: dict, summary: dict) -> dict:
    """Write a prepared set: images.npy and mesh.npy from `chunks`, pairs of (M, size, size, 3)
    uint8 crops and their (M, 478, 2) landmarks in row order (the images streamed into a memory
    map, each chunk read once), labels.npz, and summary.json last - a set is loadable only once its
    summary exists, so an interrupted write is never mistaken for a set. Returns `summary`."""
    mesh = np.zeros((n, MESH_POINTS, 2), np.float16)
    with atomic_output(cache / "images.npy") as tmp:
        images = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(n, size, size, 3))
        at = 0
        for crops, points in chunks:
            images[at:at + len(crops)] = crops
            mesh[at:at + len(crops)] = points
            at += len(crops)
        images.flush()
        del images
    with atomic_output(cache / "mesh.npy") as tmp:
        np.save(tmp, mesh)
    with atomic_output(cache / "labels.npz") as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **labels)
    with atomic_output(cache / "summary.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=1))
    return summary


def _join(records: list[Record], jobs, cache: Path, size: int) -> dict:
    oks = [np.load(job[3])["ok"] for job in jobs]
    keep = np.concatenate(oks) if oks else np.zeros(0, bool)
    n = int(keep.sum())

    def chunks():
        for job, ok in zip(jobs, oks):
            with np.load(job[3]) as chunk:
                yield chunk["images"][ok], chunk["mesh"][ok]

    kept = [r for r, k in zip(records, keep) if k]
    summary = {"size": size, "records": len(records), "kept": n,
               "dropped_faceless_or_unreadable": len(records) - n, "by_source": {}}
    for source in sorted({r.source for r in records}):
        total = sum(r.source == source for r in records)
        mine = [r for r in kept if r.source == source]
        summary["by_source"][source] = {
            "records": total, "kept": len(mine),
            **{split: sum(r.split == split for r in mine) for split in SPLITS}}
    return write_set(cache, chunks(), n, size, label_arrays(kept), summary)
