"""StyleGAN2 on this CPU (issue 7): render time of the full FFHQ config-f architecture (random
weights; speed does not depend on them) at 256 and 1024 px with 1 and 2 threads, anycost-gan's
preview speed-up (reduced channels and resolution), the ResNet-50 encoder and one projection step.

    .venv/bin/python benchmarks/bench_stylegan2.py [--runs 3] [--out benchmarks/results_stylegan2.json]

A 1024 px render takes seconds here, so each figure is the median of a few runs after one warm-up.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import torch

from facedit.models.stylegan2 import StyleGAN2Config, StyleGAN2Generator, channel_table
from facedit.models.stylegan2_encoder import ResNetEncoder


def median_s(fn, runs: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return round(statistics.median(times), 3)


def full_generator(size: int) -> StyleGAN2Generator:
    torch.manual_seed(0)
    g = StyleGAN2Generator(StyleGAN2Config(size=size, channels=channel_table(size)))
    return g.eval().requires_grad_(False)


def render_fn(g, ratio=1.0, res=None):
    w = g.mean_latent(256).view(1, 1, -1).repeat(1, g.config.n_latent, 1)

    @torch.no_grad()
    def run():
        return g(w, ratio, res)
    return run


def projection_step_fn(g, res):
    """One Adam step of W+ on MSE at `res` (forward + backward through the generator)."""
    w = g.mean_latent(256).view(1, 1, -1).repeat(1, g.config.n_latent, 1).requires_grad_(True)
    target = torch.zeros(1, 3, res, res)
    opt = torch.optim.Adam([w], lr=0.01)

    def run():
        opt.zero_grad()
        torch.mean((g(w, 1.0, res) - target) ** 2).backward()
        opt.step()
    return run


def gmacs(g: StyleGAN2Generator, ratio: float = 1.0, res: int | None = None) -> float:
    """Multiply-accumulates of the synthesis convolutions (3x3 styled convs and 1x1 to-RGB; the
    blur and mapping are small), in billions: the machine-independent cost of a render."""
    ch, r = g.sub_channels(ratio), 4
    total = r * r * (9 * ch[0] * ch[0] + 3 * ch[0])
    for k in range(1, len(ch)):
        total += r * r * 9 * ch[k - 1] * ch[k]  # the transposed conv runs on the input grid
        r *= 2
        total += r * r * (9 * ch[k] * ch[k] + 3 * ch[k])
        if res is not None and r >= res:
            break
    return round(total / 1e9, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--macs", action="store_true", help="Only print the preview configs' "
                        "multiply-accumulates and their ratio to the full 1024 px render.")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name(
        "results_stylegan2.json"))
    args = parser.parse_args()

    g1024, g256 = full_generator(1024), full_generator(256)
    configs = ((1.0, 1024), (1.0, 512), (1.0, 256), (0.5, 1024), (0.5, 256), (0.25, 256))
    macs = {f"channels_{c}_res_{r}": gmacs(g1024, c, r) for c, r in configs}
    if args.macs:
        print(json.dumps({k: [v, round(macs["channels_1.0_res_1024"] / v, 1)]
                          for k, v in macs.items()}, indent=1))
        return
    results = {"runs": args.runs, "machine": platform.processor() or platform.machine(),
               "torch": torch.__version__, "render_s": {}, "preview_s": {}, "gmacs": macs}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        key = f"{threads}_thread{'s' if threads > 1 else ''}"
        results["render_s"][key] = {
            "256px_full": median_s(render_fn(g256), args.runs),
            "1024px_full": median_s(render_fn(g1024), args.runs)}
        print(key, results["render_s"][key], flush=True)

    torch.set_num_threads(2)
    full = results["render_s"]["2_threads"]["1024px_full"]
    previews = {}
    for ratio, res in configs[1:]:
        previews[f"channels_{ratio}_res_{res}"] = median_s(render_fn(g1024, ratio, res),
                                                           args.runs)
    results["preview_s"] = {"2_threads": previews,
                            "speedup_vs_full_1024": {k: round(full / v, 1)
                                                     for k, v in previews.items()}}
    print(results["preview_s"], flush=True)

    encoder = ResNetEncoder().eval().requires_grad_(False)
    x = torch.zeros(1, 3, 256, 256)
    results["encoder_256px_s_2_threads"] = median_s(lambda: encoder(x), args.runs)
    g1024.requires_grad_(False)
    results["projection_step_s_2_threads"] = {
        "res_256": median_s(projection_step_fn(g1024, 256), args.runs)}
    print({k: results[k] for k in ("encoder_256px_s_2_threads", "projection_step_s_2_threads")})
    # The machine is shared: the load average says how far these figures are from an idle one.
    results["load_average_1min_at_end"] = round(os.getloadavg()[0], 2)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"results: {args.out}")


if __name__ == "__main__":
    main()
