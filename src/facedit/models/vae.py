"""facedit's built-in face model: a convolutional VAE on 128x128 aligned crops with a flat latent.

A flat latent (one vector per face) is what linear attribute arithmetic needs: a direction is one
vector, the same for every face. The encoder halves the resolution five times (128 -> 4) with
strided convolutions; the decoder doubles it back with nearest upsampling and 3x3 convolutions,
which avoids the checkerboard artefacts of transposed convolutions.

Images are (B, 3, S, S) float32 RGB in [0, 1]; latents are (B, latent) float32.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class VAEConfig:
    size: int = 128
    latent: int = 512
    enc_channels: tuple[int, ...] = (16, 32, 64, 128, 256)
    # Decoder widths at 8, 16, 32 and 64 px; the last stage makes 128 px by sub-pixel shuffling,
    # which keeps the full-resolution work (and CPU time) small.
    dec_channels: tuple[int, ...] = (128, 64, 32, 32)
    # Extra 3x3 convolutions at the low resolutions, where they are cheap.
    dec_extra: tuple[int, ...] = (1, 1, 0, 0)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "VAEConfig":
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


# A part model's VAE (`facedit.parts`): the mouth box, 64 px cut from the 128 px crop.
PART_CONFIG = VAEConfig(size=64, latent=256, enc_channels=(32, 64, 128, 256),
                        dec_channels=(192, 96, 48), dec_extra=(1, 1, 1))


def _act() -> nn.Module:
    return nn.LeakyReLU(0.2, inplace=True)


def _conv(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, 1, 1), nn.BatchNorm2d(c_out), _act()]


class FaceVAE(nn.Module):
    """Encoder/decoder with `encode(images) -> (mu, logvar)` and `decode(latents) -> images`."""

    def __init__(self, config: VAEConfig = VAEConfig()):
        super().__init__()
        self.config = config
        downs = len(config.enc_channels)
        self.base = config.size // 2 ** downs
        if self.base * 2 ** downs != config.size or len(config.dec_channels) != downs - 1:
            raise ValueError(f"size {config.size} must be base*2**{downs} and dec_channels must "
                             f"have {downs - 1} entries")
        layers, c_in = [], 3
        for c in config.enc_channels:
            layers += [nn.Conv2d(c_in, c, 4, 2, 1), nn.BatchNorm2d(c), _act()]
            c_in = c
        self.encoder = nn.Sequential(*layers)
        flat = c_in * self.base * self.base
        self.top = c_in
        self.fc_mu = nn.Linear(flat, config.latent)
        self.fc_logvar = nn.Linear(flat, config.latent)
        self.fc_dec = nn.Linear(config.latent, flat)
        blocks = []
        for c, extra in zip(config.dec_channels, config.dec_extra):
            blocks += [nn.Upsample(scale_factor=2, mode="nearest"), *_conv(c_in, c)]
            for _ in range(extra):
                blocks += _conv(c, c)
            c_in = c
        blocks += [nn.Conv2d(c_in, 12, 3, 1, 1), nn.PixelShuffle(2), nn.Sigmoid()]
        self.decoder = nn.Sequential(*blocks)

    def decoder_parameters(self) -> list[nn.Parameter]:
        """The weights `decode` uses: what a decoder-only fine-tune trains, leaving every code
        (and so every attribute direction learned from codes) as it was."""
        return [*self.fc_dec.parameters(), *self.decoder.parameters()]

    def encode(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 3, S, S) in [0, 1] -> mean and log-variance, each (B, latent)."""
        h = self.encoder(images * 2 - 1).flatten(1)
        return self.fc_mu(h), self.fc_logvar(h).clamp(-12, 6)

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """(B, latent) -> (B, 3, S, S) in [0, 1]."""
        h = self.fc_dec(latents).view(-1, self.top, self.base, self.base)
        return self.decoder(torch.relu(h))

    def forward(self, images: torch.Tensor, sample: bool = True):
        mu, logvar = self.encode(images)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if sample else mu
        return self.decode(z), mu, logvar
