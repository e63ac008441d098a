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
from pathlib import Path

import numpy as np
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


# Tensors whose shapes give the layout: e1 (ndf, nc, 4, 4), fc1 (latent, 8ndf*16),
# d6 (nc, ngf, 3, 3).
_SHAPE_KEYS = ("e1.weight", "fc1.weight", "d6.weight")
CHECKPOINT_SUFFIXES = (".pt", ".pth", ".pkl", ".ckpt")


def infer_config(state: dict, label: str = "checkpoint") -> DeepestConfig:
    """The kit layout (nc, ndf, ngf, latent) that a state_dict's tensor shapes describe."""
    from facedit.errors import WeightsError

    for name in _SHAPE_KEYS:
        if name not in state:
            raise WeightsError(f"{label}: missing tensor {name!r}; not a Deepest-kit VAE "
                               f"state_dict (expected e1..e5, bn1..bn9, fc1, fc2, d1..d6)")
    e1, fc1, d6 = (tuple(state[name].shape) for name in _SHAPE_KEYS)
    if len(e1) != 4 or len(fc1) != 2 or len(d6) != 4:
        raise WeightsError(f"{label}: tensors e1.weight {e1}, fc1.weight {fc1}, d6.weight {d6} "
                           f"do not have the kit's ranks (4, 2, 4)")
    return DeepestConfig(nc=e1[1], ndf=e1[0], ngf=d6[1], latent=fc1[0])


def _checkpoint_file(path: str | Path) -> Path:
    """The checkpoint file itself, or the one checkpoint in a folder (so directions can live in
    the folder's `directions/` beside it)."""
    from facedit.errors import WeightsError

    path = Path(path)
    if path.is_dir():
        found = sorted(p for p in path.iterdir() if p.suffix in CHECKPOINT_SUFFIXES)
        if len(found) != 1:
            raise WeightsError(f"{path}: expected one checkpoint "
                               f"({', '.join(CHECKPOINT_SUFFIXES)}) in the folder, found "
                               f"{len(found)}")
        return found[0]
    if not path.is_file():
        raise WeightsError(f"{path}: no such checkpoint file")
    return path


def load_deepest_vae(path: str | Path) -> DeepestVAE:
    """A Deepest-kit VAE from its `torch.save(model.state_dict())` file, in eval mode on the CPU.

    The layout is read from the tensor shapes; every tensor name and shape is then checked, and
    the first missing, unexpected or misshapen one is named in a `WeightsError`. The file is read
    with torch's restricted unpickler (`weights_only=True`): it holds tensors, never code. A
    DataParallel save (every name prefixed `module.`) loads too; a file from before PyTorch 0.4.1
    may lack every `num_batches_tracked` (a counter, unused at inference).
    """
    from facedit.errors import WeightsError
    from facedit.models.store import check_state

    file = _checkpoint_file(path)
    try:
        state = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for corrupt or non-tensor pickles
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WeightsError(f"{file}: not a loadable torch state_dict ({first})") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsError(f"{file}: expected a state_dict (names -> tensors), got "
                           f"{type(state).__name__}; save it with torch.save(model.state_dict())")
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    model = DeepestVAE(infer_config(state, str(file)))
    counters = [k for k in model.state_dict() if k.endswith("num_batches_tracked")]
    if not any(k in state for k in counters):
        state = {**state, **{k: torch.zeros((), dtype=torch.long) for k in counters}}
    check_state(model, state, str(file))
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    return model.eval()


def load_deepest_backend(path: str | None):
    """`--model deepest-vae:PATH`: the kit's VAE as a facedit backend (128x128 crops, mean code)."""
    from facedit.errors import ConfigError
    from facedit.models.backend import TorchVAEBackend

    if not path:
        raise ConfigError("deepest-vae needs a checkpoint: --model deepest-vae:PATH (a file saved "
                          "with torch.save(model.state_dict()), or a folder holding one)")
    model = load_deepest_vae(path)
    return TorchVAEBackend(model, model.config.size, model.config.latent, f"deepest-vae:{path}")


def read_attribute_vectors(path: str | Path, latent_dim: int):
    """The kit's `hq_attr.pkl` as a `DirectionSet` for a model with `latent_dim` latents.

    The file is a (40, latent) array: per CelebA attribute (list_attr_celeba order), the mean
    code of faces with it minus the mean of faces without it. Each row becomes a unit direction
    named like facedit's own (`smiling`, `eyeglasses`, ...) with `scale` = the row's length, so a
    raw step f moves a code by exactly f x the kit's vector (the kit's `mu + f * attr`), and raw
    steps mean what they mean for facedit's mean-difference directions. Rows that are zero or not
    finite (an attribute absent from the kit's data) are left out and listed in the set's info.
    """
    from facedit import safepickle
    from facedit.attributes import ATTRIBUTES
    from facedit.data.sources import CELEBA_ATTRIBUTES
    from facedit.directions import DirectionSet
    from facedit.errors import ShapeError

    try:
        table = np.asarray(safepickle.load(path), dtype=np.float64)
    except (ValueError, TypeError) as exc:
        raise ShapeError(f"{path}: expected a (40, {latent_dim}) numeric array ({exc})") from None
    if table.shape != (len(CELEBA_ATTRIBUTES), latent_dim):
        raise ShapeError(f"{path}: expected attribute vectors of shape "
                         f"({len(CELEBA_ATTRIBUTES)}, {latent_dim}) for this model, got "
                         f"{table.shape}")
    names, vectors, meta, skipped = [], [], {}, []
    for label, row in zip(CELEBA_ATTRIBUTES, table):
        norm = float(np.linalg.norm(row))
        if not np.isfinite(row).all() or norm < 1e-12:
            skipped.append(label)
            continue
        attr = ATTRIBUTES[label.lower()]
        names.append(attr.name)
        vectors.append(row / norm)
        meta[attr.name] = {"label": label, "method": "mean", "orthogonal_to": [], "scale": norm,
                           "max_step": attr.max_step, "regions": list(attr.regions),
                           "group": attr.group, "origin": "kit hq_attr.pkl"}
    if not names:
        raise ShapeError(f"{path}: every attribute vector is zero or not finite")
    info = {"method": "mean", "origin": f"imported from {Path(path).name} (the kit's attribute "
            f"vectors)", "conditioned": False, "left_out": skipped}
    return DirectionSet(names, np.stack(vectors), meta, info)
