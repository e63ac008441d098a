"""A pure-PyTorch StyleGAN2 generator that loads anycost-gan and rosinality stylegan2-pytorch
checkpoints (no custom CUDA ops; runs on a CPU).

Both projects name the generator's tensors the same way (anycost-gan started from rosinality's
code), so one module tree loads both:

    style.{1..n_mlp}.weight/bias             mapping network (PixelNorm is style.0, no tensors)
    input.input                              (1, C4, 4, 4) constant
    conv1.conv.weight                        (1, C4, C4, 3, 3), .conv.modulation.weight/bias,
    conv1.noise.weight, conv1.activate.bias  per-layer noise strength and bias
    to_rgb1.conv.*, to_rgb1.bias             (1, 3, 1, 1)
    convs.{i}.*                              two styled convs per resolution 8..size; the even
                                             ones upsample and hold conv.blur.kernel (4, 4)
    to_rgbs.{i}.*, to_rgbs.{i}.upsample.kernel
    noises.noise_{j}                         (1, 1, 2**r, 2**r) fixed noise, r = (j + 5) // 2

Channels per resolution: min(512, {4: 4096, ..., 1024: 16}[r] * channel_multiplier) for
anycost-gan; 512 up to 32 px then 256m, 128m, 64m, 32m, 16m for rosinality -- the same table for
both at multiplier 2 (FFHQ config-f: 512 up to 64 px, then 256/128/64/32). The loader infers
the architecture from the tensors, so any size and multiplier loads, and checks every key.

Files: anycost-gan saves `{"g_ema": state_dict}`; rosinality's training saves `{"g", "d",
"g_ema", "g_optim", "d_optim", "args", ...}` and its `convert_weight.py` `{"g_ema": ...,
"latent_avg": (512,)}`. W+ codes are (B, n_latent, style_dim), n_latent = 2 log2(size) - 2
(18 at 1024 px). Images are (B, 3, H, W) in [-1, 1].

anycost-gan's previews: its elastic checkpoints render with the first `ratio` of every layer's
channels (`channel_ratio`, e.g. 0.5) and stop at a lower resolution (`target_res`), several
times cheaper; `channel_ratio`/`target_res` do the same here (a plain StyleGAN2 checkpoint runs
them too, but only anycost's elastic training makes the result look like the full image).
"""
from __future__ import annotations

import argparse
import math
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from facedit.errors import ConfigError, ShapeError, WeightsError
from facedit.models.store import check_state

ANYCOST_CHANNELS = {4: 4096, 8: 2048, 16: 1024, 32: 512, 64: 256, 128: 128, 256: 64, 512: 32,
                    1024: 16}
BLUR_KERNEL = (1, 3, 3, 1)


def channel_table(size: int, channel_multiplier: float = 2, channel_max: int = 512,
                  layout: str = "anycost") -> tuple[int, ...]:
    """Channels at resolutions 4, 8, ..., `size`, as anycost-gan or rosinality compute them."""
    if layout == "anycost":
        table = {r: min(channel_max, int(c * channel_multiplier))
                 for r, c in ANYCOST_CHANNELS.items()}
    elif layout == "rosinality":
        table = {4: 512, 8: 512, 16: 512, 32: 512}
        table.update({64 * 2 ** k: int(256 // 2 ** k * channel_multiplier) for k in range(5)})
    else:
        raise ConfigError(f"layout: expected 'anycost' or 'rosinality', got {layout!r}")
    return tuple(table[2 ** i] for i in range(2, int(math.log2(size)) + 1))


@dataclass(frozen=True)
class StyleGAN2Config:
    """The architecture. channels: one entry per resolution 4, 8, ..., size."""

    size: int = 1024
    style_dim: int = 512
    n_mlp: int = 8
    channels: tuple[int, ...] = channel_table(1024)
    lr_mlp: float = 0.01  # both projects' default; not stored in a checkpoint

    def __post_init__(self):
        log = math.log2(self.size)
        if self.size < 8 or log != int(log):
            raise ConfigError(f"size: expected a power of two >= 8, got {self.size}")
        if len(self.channels) != int(log) - 1:
            raise ConfigError(f"channels: expected {int(log) - 1} entries (4..{self.size} px), "
                              f"got {len(self.channels)}")

    @property
    def n_latent(self) -> int:
        return 2 * int(math.log2(self.size)) - 2

    @property
    def num_layers(self) -> int:
        return 2 * int(math.log2(self.size)) - 3

    def to_dict(self) -> dict:
        return asdict(self)


# -- ops ----------------------------------------------------------------------------------------

def make_kernel(k) -> torch.Tensor:
    """A separable 1-D FIR `k` as a normalised 2-D kernel (sums to 1)."""
    k = torch.as_tensor(k, dtype=torch.float32)
    if k.ndim == 1:
        k = k[None, :] * k[:, None]
    return k / k.sum()


def upfirdn2d(x: torch.Tensor, kernel: torch.Tensor, up: int = 1, down: int = 1,
              pad: tuple[int, int] = (0, 0)) -> torch.Tensor:
    """Upsample by zero insertion, pad (negative crops), convolve with `kernel` per channel,
    downsample. x: (B, C, H, W); kernel: (kh, kw). The plain-PyTorch form of StyleGAN2's
    CUDA op (identical results, slower on a GPU, fine on a CPU)."""
    b, c, h, w = x.shape
    if up > 1:
        x = x.reshape(b, c, h, 1, w, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1])
        x = x.reshape(b, c, h * up, w * up)
    p0, p1 = pad
    x = F.pad(x, [max(p0, 0), max(p1, 0), max(p0, 0), max(p1, 0)])
    x = x[:, :, max(-p0, 0):x.shape[2] - max(-p1, 0), max(-p0, 0):x.shape[3] - max(-p1, 0)]
    k = torch.flip(kernel, [0, 1]).to(x)[None, None].expand(c, 1, *kernel.shape)
    x = F.conv2d(x, k, groups=c)
    return x[:, :, ::down, ::down] if down > 1 else x


def fused_leaky_relu(x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """leaky_relu(x + bias, 0.2) * sqrt(2), bias per channel (sliced to x's channels)."""
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return F.leaky_relu(x + bias[:x.shape[1]].view(shape), 0.2) * math.sqrt(2)


# -- layers (attribute names are the checkpoints' tensor names) --------------------------------

class EqualLinear(nn.Module):
    def __init__(self, in_dim: int, out_dim: int, bias_init: float = 0.0, lr_mul: float = 1.0,
                 activation: bool = False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_dim, in_dim) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_dim,), float(bias_init)))
        self.scale = lr_mul / math.sqrt(in_dim)
        self.lr_mul = lr_mul
        self.activation = activation

    def forward(self, x):
        if self.activation:
            return fused_leaky_relu(F.linear(x, self.weight * self.scale), self.bias * self.lr_mul)
        return F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)


class PixelNorm(nn.Module):
    def forward(self, x):
        return x * torch.rsqrt(torch.mean(x ** 2, dim=1, keepdim=True) + 1e-8)


class Blur(nn.Module):
    def __init__(self, pad: tuple[int, int], upsample_factor: int = 1):
        super().__init__()
        self.register_buffer("kernel", make_kernel(BLUR_KERNEL) * upsample_factor ** 2)
        self.pad = pad

    def forward(self, x):
        return upfirdn2d(x, self.kernel, pad=self.pad)


class Upsample(nn.Module):
    def __init__(self, factor: int = 2):
        super().__init__()
        self.register_buffer("kernel", make_kernel(BLUR_KERNEL) * factor ** 2)
        p = self.kernel.shape[0] - factor
        self.factor, self.pad = factor, ((p + 1) // 2 + factor - 1, p // 2)

    def forward(self, x):
        return upfirdn2d(x, self.kernel, up=self.factor, pad=self.pad)


class ModulatedConv2d(nn.Module):
    """Weight modulated by the style, demodulated per output channel; `upsample` is a stride-2
    transposed convolution followed by the blur. Runs on the first `out_channels` outputs and on
    as many inputs as `x` has (anycost-gan's sub-networks)."""

    def __init__(self, in_channel: int, out_channel: int, kernel_size: int, style_dim: int,
                 demodulate: bool = True, upsample: bool = False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(1, out_channel, in_channel, kernel_size,
                                               kernel_size))
        self.modulation = EqualLinear(style_dim, in_channel, bias_init=1.0)
        self.scale = 1 / math.sqrt(in_channel * kernel_size ** 2)  # of the full layer, always
        self.padding = kernel_size // 2
        self.demodulate, self.upsample = demodulate, upsample
        if upsample:
            p = (len(BLUR_KERNEL) - 2) - (kernel_size - 1)
            self.blur = Blur(((p + 1) // 2 + 1, p // 2 + 1), upsample_factor=2)

    def forward(self, x: torch.Tensor, style: torch.Tensor, out_channels: int | None = None):
        # Modulate the input instead of the weight, then scale the output by the demodulation
        # factors: the same result as per-sample weights, but one ordinary convolution for the
        # whole batch (much faster on a CPU).
        c_in = x.shape[1]
        weight = self.weight[0, :out_channels, :c_in] * self.scale  # (O, I, k, k)
        s = self.modulation(style)[:, :c_in]  # (B, I)
        x = x * s[:, :, None, None]
        if self.upsample:
            out = self.blur(F.conv_transpose2d(x, weight.transpose(0, 1), stride=2))
        else:
            out = F.conv2d(x, weight, padding=self.padding)
        if self.demodulate:
            demod = torch.rsqrt((s ** 2) @ weight.pow(2).sum([2, 3]).t() + 1e-8)  # (B, O)
            out = out * demod[:, :, None, None]
        return out


class NoiseInjection(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, x, noise):
        return x + self.weight * noise


class FusedLeakyReLU(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x):
        return fused_leaky_relu(x, self.bias)


class StyledConv(nn.Module):
    def __init__(self, in_channel, out_channel, style_dim, upsample=False):
        super().__init__()
        self.conv = ModulatedConv2d(in_channel, out_channel, 3, style_dim, upsample=upsample)
        self.noise = NoiseInjection()
        self.activate = FusedLeakyReLU(out_channel)

    def forward(self, x, style, noise, out_channels=None):
        return self.activate(self.noise(self.conv(x, style, out_channels), noise))


class ToRGB(nn.Module):
    def __init__(self, in_channel, style_dim, upsample=True):
        super().__init__()
        if upsample:
            self.upsample = Upsample()
        self.conv = ModulatedConv2d(in_channel, 3, 1, style_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(1, 3, 1, 1))

    def forward(self, x, style, skip=None):
        out = self.conv(x, style) + self.bias
        return out if skip is None else out + self.upsample(skip)


class ConstantInput(nn.Module):
    def __init__(self, channel: int):
        super().__init__()
        self.input = nn.Parameter(torch.randn(1, channel, 4, 4))


# -- the generator ------------------------------------------------------------------------------

class StyleGAN2Generator(nn.Module):
    """`mapping(z) -> w`; `forward(w_plus) -> image`. See the module docstring for the layout.

    Example:
        >>> g = StyleGAN2Generator(StyleGAN2Config(size=16, style_dim=8, n_mlp=2,
        ...                                        channels=(16, 8, 8)))
        >>> g(g.mapping(torch.randn(1, 8))[:, None].repeat(1, g.config.n_latent, 1)).shape
        torch.Size([1, 3, 16, 16])
    """

    def __init__(self, config: StyleGAN2Config = StyleGAN2Config()):
        super().__init__()
        self.config = config
        d, ch = config.style_dim, config.channels
        self.style = nn.Sequential(PixelNorm(), *[EqualLinear(d, d, lr_mul=config.lr_mlp,
                                                              activation=True)
                                                  for _ in range(config.n_mlp)])
        self.input = ConstantInput(ch[0])
        self.conv1 = StyledConv(ch[0], ch[0], d)
        self.to_rgb1 = ToRGB(ch[0], d, upsample=False)
        self.convs, self.to_rgbs = nn.ModuleList(), nn.ModuleList()
        for c_in, c_out in zip(ch[:-1], ch[1:]):
            self.convs.append(StyledConv(c_in, c_out, d, upsample=True))
            self.convs.append(StyledConv(c_out, c_out, d))
            self.to_rgbs.append(ToRGB(c_out, d))
        self.noises = nn.Module()
        for j in range(config.num_layers):
            r = 2 ** ((j + 5) // 2)
            self.noises.register_buffer(f"noise_{j}", torch.randn(1, 1, r, r))

    def mapping(self, z: torch.Tensor) -> torch.Tensor:
        """(B, style_dim) Gaussian codes -> (B, style_dim) W codes."""
        return self.style(z)

    @torch.no_grad()
    def mean_latent(self, n: int = 4096, seed: int = 0) -> torch.Tensor:
        """The mean W of `n` mapped Gaussian codes (fixed seed). (style_dim,)"""
        g = torch.Generator().manual_seed(seed)
        z = torch.randn(n, self.config.style_dim, generator=g)
        return self.mapping(z).mean(0)

    def forward(self, w_plus: torch.Tensor, channel_ratio: float = 1.0,
                target_res: int | None = None) -> torch.Tensor:
        """(B, n_latent, style_dim) W+ -> (B, 3, R, R) in about [-1, 1], R = target_res or size,
        with the checkpoint's fixed noise (deterministic). channel_ratio < 1 uses the first
        share of each layer's channels (anycost-gan's uniform ratio)."""
        cfg = self.config
        if w_plus.ndim != 3 or w_plus.shape[1:] != (cfg.n_latent, cfg.style_dim):
            raise ShapeError(f"w_plus: expected (B, {cfg.n_latent}, {cfg.style_dim}), got "
                             f"{tuple(w_plus.shape)}")
        subs = self.sub_channels(channel_ratio)
        noise = [getattr(self.noises, f"noise_{j}") for j in range(cfg.num_layers)]
        x = self.input.input[:, :subs[0]].expand(len(w_plus), -1, -1, -1)
        x = self.conv1(x, w_plus[:, 0], noise[0], subs[0])
        skip = self.to_rgb1(x, w_plus[:, 1])
        for k, to_rgb in enumerate(self.to_rgbs):
            i = 2 * k + 1
            x = self.convs[2 * k](x, w_plus[:, i], noise[i], subs[k + 1])
            x = self.convs[2 * k + 1](x, w_plus[:, i + 1], noise[i + 1], subs[k + 1])
            skip = to_rgb(x, w_plus[:, i + 2], skip)
            if target_res is not None and skip.shape[-1] >= target_res:
                break
        return skip

    def sub_channels(self, ratio: float) -> list[int]:
        """Channels per resolution at a uniform `ratio` (anycost-gan's rule: the anycost table
        scaled by the checkpoint's own multiplier, capped by the full width)."""
        if not 0 < ratio <= 1:
            raise ConfigError(f"channel ratio: expected a number in (0, 1], got {ratio}")
        if ratio == 1:
            return list(self.config.channels)
        mult = self.config.channels[-1] / ANYCOST_CHANNELS[self.config.size]
        return [max(1, min(full, int(ANYCOST_CHANNELS[2 ** (i + 2)] * ratio * mult)))
                for i, full in enumerate(self.config.channels)]


# -- loading ------------------------------------------------------------------------------------

def _meta_generator(config: StyleGAN2Config) -> StyleGAN2Generator:
    with torch.device("meta"):
        return StyleGAN2Generator(config)


def infer_config(state: dict[str, torch.Tensor], where: str = "checkpoint") -> StyleGAN2Config:
    """The architecture a generator state dict describes (size from the number of to-RGB
    layers, channels from the conv weights, mapping depth from `style.N`)."""
    for key in ("input.input", "style.1.weight", "conv1.conv.weight"):
        if key not in state:
            raise WeightsError(f"{where}: not a StyleGAN2 generator (no tensor {key!r})")
    mlp = sorted(int(m.group(1)) for k in state if (m := re.fullmatch(r"style\.(\d+)\.weight", k)))
    n_rgbs = len({m.group(1) for k in state if (m := re.match(r"to_rgbs\.(\d+)\.", k))})
    channels = [int(state["input.input"].shape[1])]
    for k in range(n_rgbs):
        key = f"convs.{2 * k}.conv.weight"
        if key not in state:
            raise WeightsError(f"{where}: missing tensor {key!r}")
        channels.append(int(state[key].shape[1]))
    return StyleGAN2Config(size=2 ** (n_rgbs + 2), style_dim=int(state["style.1.weight"].shape[1]),
                           n_mlp=len(mlp), channels=tuple(channels))


def read_checkpoint(path: str | Path) -> dict:
    """A torch checkpoint as a dict, without running pickled code (rosinality's training
    checkpoints hold an argparse Namespace, which is allowed)."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: no such checkpoint file")
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure is a bad file for the user
        raise WeightsError(f"{path}: not a readable torch checkpoint ({exc})") from None
    if not isinstance(ckpt, dict):
        raise WeightsError(f"{path}: expected a dict checkpoint, got {type(ckpt).__name__}")
    return ckpt


def checkpoint_format(ckpt: dict) -> str:
    """"rosinality-train" ({g, d, g_ema, ...}), "rosinality" ({g_ema, latent_avg}), "anycost"
    ({g_ema}) or "state_dict" (a bare generator state dict)."""
    if "g_ema" in ckpt:
        if "d" in ckpt or "g" in ckpt:
            return "rosinality-train"
        return "rosinality" if "latent_avg" in ckpt else "anycost"
    if "input.input" in ckpt:
        return "state_dict"
    raise WeightsError(f"not a StyleGAN2 checkpoint: expected a 'g_ema' entry, found "
                       f"{', '.join(map(str, list(ckpt)[:6])) or 'nothing'}")


@dataclass
class LoadedGenerator:
    generator: StyleGAN2Generator
    latent_avg: torch.Tensor  # (style_dim,)
    format: str


def load_generator(path: str | Path) -> LoadedGenerator:
    """Load an anycost-gan or rosinality checkpoint: architecture from the tensors, every key
    checked, eval mode, gradients off."""
    ckpt = read_checkpoint(path)
    try:
        fmt = checkpoint_format(ckpt)
    except WeightsError as exc:
        raise WeightsError(f"{path}: {exc}") from None
    state = ckpt if fmt == "state_dict" else ckpt["g_ema"]
    if not isinstance(state, dict):
        raise WeightsError(f"{path}: 'g_ema' is not a state dict")
    config = infer_config(state, str(path))
    check_state(_meta_generator(config), state, str(path))
    generator = StyleGAN2Generator(config)
    generator.load_state_dict(state)
    generator.eval().requires_grad_(False)
    avg = ckpt.get("latent_avg") if fmt != "state_dict" else None
    if avg is not None:
        avg = torch.as_tensor(avg, dtype=torch.float32).reshape(-1)
        if avg.shape != (config.style_dim,):
            raise WeightsError(f"{path}: latent_avg has shape {list(avg.shape)}, expected "
                               f"[{config.style_dim}]")
    else:
        avg = generator.mean_latent()
    return LoadedGenerator(generator, avg, fmt)


def save_generator(generator: StyleGAN2Generator, path: str | Path, fmt: str = "anycost",
                   latent_avg: torch.Tensor | None = None) -> Path:
    """Write a checkpoint as anycost-gan (`{"g_ema": sd}`) or rosinality's converter
    (`{"g_ema": sd, "latent_avg": w}`) do."""
    path = Path(path)
    ckpt = {"g_ema": generator.state_dict()}
    if fmt == "rosinality":
        ckpt["latent_avg"] = latent_avg if latent_avg is not None else generator.mean_latent()
    elif fmt != "anycost":
        raise ConfigError(f"fmt: expected 'anycost' or 'rosinality', got {fmt!r}")
    torch.save(ckpt, path)
    return path


def to_numpy_images(images: torch.Tensor) -> np.ndarray:
    """(B, 3, H, W) in [-1, 1] -> (B, H, W, 3) float32 in 0..255 (clipped)."""
    return ((images.clamp(-1, 1) + 1) * 127.5).permute(0, 2, 3, 1).numpy().astype(np.float32)
