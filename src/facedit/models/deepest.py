"""The second source's baseline VAE ("Deepest Challenge" kit), layer for layer.

`VAE(nc=3, ngf=128, ndf=128, latent_variable_size=500)` on 128x128 RGB in [0, 1]: five 4x4
stride-2 convolutions `e1..e5` with batch norms `bn1..bn5` and LeakyReLU(0.2), linear `fc1` (mean)
and `fc2` (log-variance); decoder `d1` (linear, ReLU), then four blocks of nearest upsampling,
replication padding, 3x3 convolution `d2..d5`, batch norm `bn6..bn9` (eps 1e-3), LeakyReLU(0.2),
then upsampling, padding, `d6` and a sigmoid. Parameter names equal the kit's, so its
`torch.save(model.state_dict())` files load as they are.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class DeepestConfig:
    nc: int = 3
    ngf: int = 128
    ndf: int = 128
    latent: int = 500
    size: int = 128

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "DeepestConfig":
        return cls(**d)


class DeepestVAE(nn.Module):
    def __init__(self, config: DeepestConfig = DeepestConfig()):
        super().__init__()
        self.config = config
        nc, ngf, ndf, latent = config.nc, config.ngf, config.ndf, config.latent
        enc = [nc, ndf, ndf * 2, ndf * 4, ndf * 8, ndf * 8]
        for i in range(5):
            setattr(self, f"e{i + 1}", nn.Conv2d(enc[i], enc[i + 1], 4, 2, 1))
            setattr(self, f"bn{i + 1}", nn.BatchNorm2d(enc[i + 1]))
        self.fc1 = nn.Linear(ndf * 8 * 4 * 4, latent)
        self.fc2 = nn.Linear(ndf * 8 * 4 * 4, latent)
        self.d1 = nn.Linear(latent, ngf * 8 * 2 * 4 * 4)
        dec = [ngf * 16, ngf * 8, ngf * 4, ngf * 2, ngf]
        for i in range(4):
            setattr(self, f"d{i + 2}", nn.Conv2d(dec[i], dec[i + 1], 3, 1))
            setattr(self, f"bn{i + 6}", nn.BatchNorm2d(dec[i + 1], 1.0e-3))
        self.d6 = nn.Conv2d(ngf, nc, 3, 1)
        self.up = nn.UpsamplingNearest2d(scale_factor=2)
        self.pad = nn.ReplicationPad2d(1)
        self.leakyrelu = nn.LeakyReLU(0.2)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, nc, 128, 128) in [0, 1] -> mean and log-variance (B, latent)."""
        h = x
        for i in range(1, 6):
            h = self.leakyrelu(getattr(self, f"bn{i}")(getattr(self, f"e{i}")(h)))
        h = h.reshape(-1, self.config.ndf * 8 * 4 * 4)
        return self.fc1(h), self.fc2(h)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """(B, latent) -> (B, nc, 128, 128) in [0, 1]."""
        h = torch.relu(self.d1(z)).view(-1, self.config.ngf * 16, 4, 4)
        for i in range(2, 6):
            h = self.leakyrelu(getattr(self, f"bn{i + 4}")(getattr(self, f"d{i}")(
                self.pad(self.up(h)))))
        return torch.sigmoid(self.d6(self.pad(self.up(h))))

    def forward(self, x: torch.Tensor, sample: bool = True):
        mu, logvar = self.encode(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if sample else mu
        return self.decode(z), mu, logvar
