"""The run's report: a JSON file with every quality-gate verdict and flag, and an HTML page of
the same (a summary, then one row per output with its thumbnail)."""
from __future__ import annotations

import html
import json
from pathlib import Path

from facedit.io import atomic_output
from facedit.pipeline.names import expected_count, parse_image_name


def build_report(data_dir: Path, out: Path, config, records: list[dict], rejected: list[dict],
                 rendered: int, kept: int, seconds: float) -> dict:
    """The report of a run over `records` (one per image, in input order)."""
    outputs = [o for r in records for o in r["outputs"]]
    verdicts = [o["passed"] for o in outputs]
    flags: dict[str, int] = {}
    for o in outputs:
        for f in o["flags"]:
            flags[f] = flags.get(f, 0) + 1
    return {
        "data": str(data_dir), "out": str(out), "config": config.to_dict(),
        "images": len(records), "rejected": rejected,
        "outputs": len(outputs),
        "expected_outputs": sum(expected_count(parse_image_name(r["code"])) for r in records),
        "rendered_images": rendered, "kept_images": kept,
        "seconds": round(seconds, 3),
        "images_per_second": round(rendered / seconds, 3) if rendered and seconds > 0 else None,
        "gate": {"passed": verdicts.count(True), "failed": verdicts.count(False),
                 "not_judged": verdicts.count(None),
                 "stand_ins": sum(o["stand_in"] for o in outputs)},
        "flags": dict(sorted(flags.items())),
        "records": records,
    }


def write_report(out: Path, report: dict) -> None:
    with atomic_output(out / "report.json") as tmp:
        tmp.write_text(json.dumps(report, indent=1))
    with atomic_output(out / "report.html") as tmp:
        tmp.write_text(render_html(report))


def _cell(value) -> str:
    if value is None:
        return "<td>-</td>"
    if isinstance(value, float):
        return f"<td>{value:.3f}</td>"
    return f"<td>{html.escape(str(value))}</td>"


def render_html(report: dict) -> str:
    """A self-contained page (thumbnails link to the PNGs by relative path)."""
    g, esc = report["gate"], html.escape
    head = (f"<h1>facedit pipeline report</h1><p>{report['images']} images, "
            f"{report['outputs']} outputs (expected {report['expected_outputs']}); gate: "
            f"{g['passed']} passed, {g['failed']} failed, {g['not_judged']} not judged, "
            f"{g['stand_ins']} stand-in copies; flags: "
            f"{esc(', '.join(f'{k} {v}' for k, v in report['flags'].items()) or 'none')}; "
            f"{report['seconds']} s</p>")
    rejected = "".join(f"<li>{esc(r['file'])}: {esc(r['reason'])}</li>"
                       for r in report["rejected"])
    if rejected:
        head += f"<h2>Rejected inputs</h2><ul>{rejected}</ul>"
    cols = ("variation", "translation", "origin", "attribute", "target", "reading", "passed",
            "attempts", "multiplier", "identity_drift", "background_psnr", "flags")
    rows = []
    for r in report["records"]:
        for o in r["outputs"]:
            src = f"{r['image']}/{o['variation']}.png"
            bad = "" if o["passed"] is not False and not o["flags"] else " class='bad'"
            cells = "".join(_cell(", ".join(o[c]) if c == "flags" else o[c]) for c in cols)
            rows.append(f"<tr{bad}><td>{esc(r['image'])}</td><td><a href='{esc(src)}'>"
                        f"<img src='{esc(src)}' width='64' loading='lazy'></a></td>{cells}</tr>")
    header = "".join(f"<th>{c}</th>" for c in ("image", "output", *cols))
    style = ("body{font-family:sans-serif}table{border-collapse:collapse}td,th{border:1px solid "
             "#ccc;padding:2px 6px;font-size:12px}tr.bad{background:#fdd}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>facedit pipeline report"
            f"</title><style>{style}</style></head><body>{head}<table><tr>{header}</tr>"
            f"{''.join(rows)}</table></body></html>\n")
