"""An evaluation's files: `report.json`, plots (matplotlib), `report.html`, and grids of the
best and worst cases with their per-photo rows.

    REPORT_DIR/report.json             every figure (inf / NaN written as strings)
    REPORT_DIR/report.html             the headline table, the plots, the skipped photos
    REPORT_DIR/success_vs_strength.png the strength curves, one panel per task
    REPORT_DIR/preservation.png        mean absolute change of every other attribute
    REPORT_DIR/identity.png            histograms of the identity similarity
    REPORT_DIR/time_per_stage.png      median seconds per stage
    GRIDS_DIR/<task>_best.png, <task>_worst.png, rows.jsonl   (default: REPORT_DIR/grids)

The plots are drawn from report.json alone, so `plot_report` can redraw them from a saved report.
Grids and rows show and name the photos: for a dataset's faces, point GRIDS_DIR at a folder that
stays out of the repository.
"""
from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np

from facedit.io import atomic_output, save_image

PLOTS = {"success_vs_strength.png": "success vs strength",
         "preservation.png": "preservation of the other attributes",
         "identity.png": "identity (cosine similarity, input vs output)",
         "time_per_stage.png": "time per stage"}
STAGE_COLOURS = {"align": "#4c72b0", "encode": "#55a868", "edit": "#c44e52", "blend": "#8172b2",
                 "paste": "#ccb974"}


def write_json(path: Path, obj) -> Path:
    """JSON with no bare NaN or Infinity (they are not JSON); raises if one slipped through."""
    text = json.dumps(obj, indent=1, allow_nan=False) + "\n"
    with atomic_output(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def write_report(report: dict, out_dir: Path, grids: dict | None = None,
                 rows: list[dict] | None = None, grids_dir: Path | None = None) -> dict:
    """Write report.json, the plots, report.html and (optionally) the grids and rows.

    Args:
        grids: {file name: (image (H, W, 3) uint8)} of best / worst grids.
        rows: per-photo rows (written to GRIDS_DIR/rows.jsonl).
        grids_dir: where grids and rows go (default: out_dir/grids).
    Returns:
        {kind: path} of every file written.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    grids_dir = Path(grids_dir) if grids_dir is not None else out_dir / "grids"
    written = {"json": write_json(out_dir / "report.json", report)}
    written.update(plot_report(report, out_dir))
    grid_paths = {}
    if grids or rows:
        grids_dir.mkdir(parents=True, exist_ok=True)
    for name, image in (grids or {}).items():
        grid_paths[name] = save_image(grids_dir / name, image)
    if rows:
        with atomic_output(grids_dir / "rows.jsonl") as tmp:
            tmp.write_text("".join(json.dumps(r, allow_nan=False) + "\n" for r in rows))
        written["rows"] = grids_dir / "rows.jsonl"
    written["html"] = write_html(report, out_dir, grid_paths)
    written.update({f"grid:{k}": v for k, v in grid_paths.items()})
    return written


# -- plots ---------------------------------------------------------------------------------------

def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _panels(plt, count: int, width: float = 4.2, height: float = 3.2):
    cols = min(count, 2)
    rows = (count + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    for ax in axes.flat[count:]:
        ax.set_visible(False)
    return fig, list(axes.flat)


def _methods(report: dict) -> list[str]:
    return list(report["config"]["methods"])


def plot_report(report: dict, out_dir: Path) -> dict:
    """Draw the four plots of a report into `out_dir`. Returns {plot: path}."""
    plt = _pyplot()
    out_dir = Path(out_dir)
    results, methods = report["results"], _methods(report)
    tasks = [t for t in results if results[t]]
    paths = {}
    if not tasks:
        return paths
    colours = {m: f"C{i}" for i, m in enumerate(methods)}

    # 1. success vs strength
    fig, axes = _panels(plt, len(tasks))
    for ax, task in zip(axes, tasks):
        for m, r in results[task].items():
            c = r.get("strength_curve")
            if not c:
                continue
            x = np.abs(c["strength"])  # a removal's steps are negative: plot towards the target
            ax.plot(x, c["mean_score"], "o-", color=colours[m], label=f"{m} (mean score)")
            ax.plot(x, c["success_rate"], "--", color=colours[m], alpha=0.6,
                    label=f"{m} (success)")
            ax.set_xlabel(c["unit"] + " towards the target")
            ax.set_ylabel(c["score"] + " / success")
        ax.set_title(task)
        ax.set_ylim(-0.05, 1.05)
        ax.grid(alpha=0.3)
    _legend(axes[0])
    paths["plot:strength"] = _save(plt, fig, out_dir / "success_vs_strength.png")

    # 2. preservation per attribute
    fig, axes = _panels(plt, len(tasks), width=9.0, height=3.4)
    for ax, task in zip(axes, tasks):
        per = {m: r["preservation"]["per_attribute"] for m, r in results[task].items()}
        names = list(next(iter(per.values())))
        x = np.arange(len(names))
        width = 0.8 / max(1, len(per))
        for i, (m, attrs) in enumerate(per.items()):
            vals = [_float(attrs[n]["mean_abs_change"]) for n in names]
            ax.bar(x + i * width, vals, width, color=colours[m], label=m)
        ax.set_xticks(x + 0.4 - width / 2)
        ax.set_xticklabels(names, rotation=90, fontsize=6)
        ax.set_ylabel("mean |change of P|")
        ax.set_title(task)
    _legend(axes[0])
    paths["plot:preservation"] = _save(plt, fig, out_dir / "preservation.png")

    # 3. identity histogram
    fig, axes = _panels(plt, len(tasks))
    for ax, task in zip(axes, tasks):
        drawn = False
        for m, r in results[task].items():
            ident = r.get("identity")
            if not ident:
                continue
            h = ident["histogram"]
            centres = (np.array(h["edges"][:-1]) + np.array(h["edges"][1:])) / 2
            ax.step(centres, h["counts"], where="mid", color=colours[m],
                    label=f"{m} (median {ident['cosine_median']:.2f})")
            drawn = True
        if not drawn:
            ax.text(0.5, 0.5, "identity not measured", ha="center", transform=ax.transAxes)
        ax.set_xlabel("cosine similarity (dlib ResNet embeddings)")
        ax.set_ylabel("photos")
        ax.set_title(task)
        if drawn:
            ax.legend(fontsize=7)
    paths["plot:identity"] = _save(plt, fig, out_dir / "identity.png")

    # 4. time per stage (stacked medians)
    fig, axes = _panels(plt, len(tasks))
    for ax, task in zip(axes, tasks):
        names = list(results[task])
        bottom = np.zeros(len(names))
        for stage, colour in STAGE_COLOURS.items():
            vals = np.array([results[task][m]["speed"]["median_seconds"].get(stage, 0.0) * 1000
                             for m in names])
            ax.bar(names, vals, bottom=bottom, color=colour, label=stage)
            bottom += vals
        ax.set_ylabel("median ms per photo")
        ax.set_title(task)
    _legend(axes[0])
    paths["plot:time"] = _save(plt, fig, out_dir / "time_per_stage.png")
    return paths


def _legend(ax) -> None:
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)


def _float(x) -> float:
    return float("nan") if x is None else float(x)


def _save(plt, fig, path: Path) -> Path:
    fig.tight_layout()
    with atomic_output(path) as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)
    return path


# -- tables and html -----------------------------------------------------------------------------

# benchmarks/run_all.py names the columns up to "ms / photo" by position: add new ones after it.
HEADLINE = ("success", "identity", "max flip", "attr. dependency", "PSNR outside", "background",
            "seam", "realism", "ms / photo", "probe success", "realism (matched)")


def headline_rows(report: dict) -> list[list[str]]:
    """One row of headline figures per task and method."""
    rows = []
    for task, per in report["results"].items():
        for m, r in per.items():
            ident = r.get("identity")
            loc = r["locality"]
            real = r.get("realism") or {}
            rows.append([task, m, str(r["photos"]), f"{r['success_rate']:.2f}",
                         f"{ident['cosine_median']:.2f} ({ident['same_person_share']:.0%})"
                         if ident else "-",
                         _fmt(r["preservation"]["flip_rate_max"]),
                         _fmt(r["preservation"]["attribute_dependency"]),
                         _db(loc["psnr_outside_region_db"]), _db(loc["psnr_background_db"]),
                         _fmt(loc["seam_ratio_median"]), _fmt(real.get("ratio")),
                         f"{1000 * r['speed']['total_median_seconds']:.0f}",
                         f"{r['probe']['success_rate']:.2f}" if r.get("probe")
                         else "not measured",
                         _fmt((real.get("matched") or {}).get("ratio"))])
    return rows


def probe_notes(report: dict) -> list[str]:
    """One line per task that has a probe: what it reads and its validation balanced accuracy
    (how far to trust its success column)."""
    notes = []
    for task, per in report["results"].items():
        probe = next((r["probe"] for r in per.values() if r.get("probe")), None)
        if probe:
            notes.append(f"{task}: probe of {probe['label']} on the {probe['region']} region, "
                         f"validation balanced accuracy {probe['val_balanced_accuracy']:.2f}")
    return notes


def realism_notes(report: dict) -> list[str]:
    """One line per task and method whose realism has a per-group breakdown: which features
    (edges, colour layout, colour and sharpness statistics) keep the region from looking real."""
    notes = []
    for task, per in report["results"].items():
        for m, r in per.items():
            realism = r.get("realism") or {}
            groups = realism.get("ratio_by_group")
            if groups:
                parts = ", ".join(f"{g} {_fmt(v)}" for g, v in groups.items())
                notes.append(f"{task} / {m}: realism by feature group: {parts}")
            matched = realism.get("matched")
            if matched:
                parts = ", ".join(f"{g} {_fmt(v)}"
                                  for g, v in (matched.get("ratio_by_group") or {}).items())
                notes.append(f"{task} / {m}: realism against real faces matched on "
                             f"{', '.join(matched['on'])} (effective count "
                             f"{matched['effective_real_faces']} of {realism['real_faces']}): "
                             f"{_fmt(matched['ratio'])}" + (f" ({parts})" if parts else ""))
    return notes


def markdown_table(report: dict) -> str:
    """The headline table in markdown, followed by the probes' validation balanced accuracy and
    the realism breakdowns."""
    head = ["task", "method", "n", *HEADLINE]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in headline_rows(report)]
    notes = probe_notes(report) + realism_notes(report)
    if notes:
        lines += ["", *(f"- {n}" for n in notes)]
    return "\n".join(lines)


def _fmt(x) -> str:
    if x is None:
        return "-"
    if isinstance(x, str):
        return x
    return f"{x:.2f}"


def _db(stats: dict) -> str:
    """'inf' when every photo kept those pixels bit-identical, else the median in dB."""
    med = stats["median"]
    if med == "inf" and stats["share_identical"] == 1.0:
        return "inf"
    return med if isinstance(med, str) else f"{med:.1f} dB"


def write_html(report: dict, out_dir: Path, grids: dict) -> Path:
    """report.html next to report.json: the settings, the headline table, the plots, grids that
    lie inside the report folder, and the skipped photos."""
    e = html.escape
    out_dir = Path(out_dir)
    head = ["task", "method", "n", *HEADLINE]
    table = "<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in head) + "</tr>" + "".join(
        "<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>"
        for row in headline_rows(report)) + "</table>"
    plots = "".join(f"<h3>{e(title)}</h3><img src='{e(name)}' alt='{e(title)}'>"
                    for name, title in PLOTS.items() if (out_dir / name).is_file())
    grid_html = []
    for name, path in grids.items():
        try:
            rel = Path(path).resolve().relative_to(out_dir.resolve())
            grid_html.append(f"<h3>{e(name)}</h3><img src='{e(str(rel))}' alt='{e(name)}'>")
        except ValueError:
            grid_html.append(f"<p>{e(name)}: {e(str(path))}</p>")
    skipped = report["photos"]["skipped"]
    skipped_html = ("<ul>" + "".join(f"<li>{e(k)}: {e(v)}</li>" for k, v in skipped.items())
                    + "</ul>") if skipped else "<p>none</p>"
    methods = "".join(f"<li><b>{e(k)}</b>: {e(v)}</li>" for k, v in report["methods"].items())
    notes = probe_notes(report) + realism_notes(report)
    notes_html = ("<ul>" + "".join(f"<li>{e(n)}</li>" for n in notes) + "</ul>") if notes else ""
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>facedit evaluation</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:auto}}
table{{border-collapse:collapse}}td,th{{border:1px solid #bbb;padding:2px 6px;text-align:right}}
img{{max-width:100%}}</style></head><body>
<h1>facedit evaluation</h1>
<p>Photos: {e(report['photos']['source'])}. Model: {e(str(report['config']['model']))}.
Judge: {e(report['judge'])}. Probe: {e(report['probe'])}.
Identity model: {e(str(report['identity_model']))}.
Run time {report['minutes']} min, peak memory {report['peak_rss_mib']} MiB.</p>
<ul>{methods}</ul>
<h2>Headline figures</h2>{table}{notes_html}
<p>success: share of outputs the judge reads as the target (mirror: asymmetry at most halved);
identity: median cosine similarity (in brackets: the share dlib's rule, distance below 0.6,
calls the same person); max flip: the other attributes' largest flip rate;
PSNR outside the edited region and on the background (inf: bit-identical on every photo);
seam: gradient energy on the blend boundary, output over input (1 = invisible);
realism: FD of the edited region to real faces with the target, over the inputs' (lower is
better); realism (matched): the same against real faces weighted to the inputs' mix of the
traits an edit keeps (sex, age, facial hair, make-up...); probe success: share of outputs an independent probe, which the editor never sees,
reads as the target (an output without a face counts as a failure; not measured without probe
data, nor for mirror).</p>
<h2>Plots</h2>{plots}
<h2>Best and worst cases</h2>{''.join(grid_html) or '<p>no grids</p>'}
<h2>Skipped photos</h2>{skipped_html}
</body></html>
"""
    path = out_dir / "report.html"
    with atomic_output(path) as tmp:
        tmp.write_text(page)
    return path


def make_grids(report_tasks, measurements, methods: list[str], attributes: list[str],
               rows: int) -> dict:
    """{"<task>_best.png": image, "<task>_worst.png": image}: per photo a row of the input and
    every method's output (at the input's framing), best and worst by the first method."""
    from facedit.draw import grid
    from facedit.eval.harness import best_and_worst

    out = {}
    for task in report_tasks:
        best, worst = best_and_worst(task, measurements, methods, attributes, rows)
        for kind, ranked in (("best", best), ("worst", worst)):
            tiles, labels = [], []
            for _, per in ranked:
                tiles.append(per[methods[0]].input_thumb)
                labels.append("input")
                for m in methods:
                    tiles.append(per[m].thumb)
                    labels.append(m)
            if tiles:
                out[f"{task.name}_{kind}.png"] = grid(tiles, 1 + len(methods), labels=labels,
                                                      cell=160)
    return out
