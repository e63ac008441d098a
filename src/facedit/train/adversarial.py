"""An adversarial term for the face VAE's decoder: a small patch discriminator that tells photos
from decodings, and the hinge losses that train it and the decoder against each other.

Pixel and perceptual losses reward the average of what a face might look like at a place, which
is a blur wherever the exact position of a thin structure (spectacle frames, the edges of teeth)
is uncertain; a discriminator penalises blur itself. It judges overlapping patches (its receptive
field is ~22 px of the 128 px crop), so it asks for local texture and edges, not for a different
face. Spectral normalisation keeps it smooth enough to train on a CPU budget of a few thousand
steps without a warm-up.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


class PatchDiscriminator(nn.Module):
    """(B, 3, S, S) images in [0, 1] -> (B, 1, S/8, S/8) realness scores, one per patch."""

    def __init__(self, channels: tuple[int, ...] = (32, 64, 128)):
        super().__init__()
        layers, c_in = [], 3
        for c in channels:
            layers += [spectral_norm(nn.Conv2d(c_in, c, 4, 2, 1)), nn.LeakyReLU(0.2, inplace=True)]
            c_in = c
        layers.append(spectral_norm(nn.Conv2d(c_in, 1, 3, 1, 1)))
        self.net = nn.Sequential(*layers)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images * 2 - 1)


class Adversary:
    """The discriminator, its optimiser and the two hinge losses.

    Per training step: `generator_loss(recon)` is added (times `weight`) to the decoder's loss,
    then `update(real, recon)` takes one discriminator step on the detached decodings.
    """

    def __init__(self, weight: float, lr: float = 2e-4,
                 discriminator: PatchDiscriminator | None = None):
        self.weight = weight
        self.discriminator = discriminator or PatchDiscriminator()
        self.optim = torch.optim.Adam(self.discriminator.parameters(), lr=lr, betas=(0.5, 0.999))

    def generator_loss(self, recon: torch.Tensor) -> torch.Tensor:
        """How photo-like the discriminator finds the decodings (lower is more). Only the
        decoder learns from it: the discriminator's weights are not updated here."""
        for p in self.discriminator.parameters():
            p.requires_grad_(False)
        loss = -self.discriminator(recon).mean()
        for p in self.discriminator.parameters():
            p.requires_grad_(True)
        return loss

    def update(self, real: torch.Tensor, recon: torch.Tensor) -> dict[str, float]:
        """One discriminator step (hinge loss). Returns its mean scores on photos and decodings."""
        real_score = self.discriminator(real)
        fake_score = self.discriminator(recon.detach())
        loss = torch.relu(1 - real_score).mean() + torch.relu(1 + fake_score).mean()
        self.optim.zero_grad(set_to_none=True)
        loss.backward()
        self.optim.step()
        return {"d_loss": loss.item(), "d_real": real_score.mean().item(),
                "d_fake": fake_score.mean().item()}

    def state_dict(self) -> dict:
        return {"discriminator": self.discriminator.state_dict(), "optim": self.optim.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.discriminator.load_state_dict(state["discriminator"])
        self.optim.load_state_dict(state["optim"])
