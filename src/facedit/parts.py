"""Part models: a small VAE of one fixed box of the aligned face, which gives a local edit the
whole capacity of a model (SPEC §6, lesson 6).

Alignment puts every face's mouth at the same place of the canonical crop (`facedit.align`), so
a part is a fixed box of the crop, in fractions of its side, and needs no landmarks. The part's
model works on that box cut 1:1 from the model-size crop (at 128 px the mouth box is 64 px: every
pixel the whole-face model sees there, with all of a model's latent for it). The editor adds the
part model's residual for the part's attributes inside the box and the whole-face model's
residual outside it (`compose`).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from facedit.errors import ShapeError, WeightsError


@dataclass(frozen=True)
class Part:
    """A box of the canonical crop and the attributes its model draws.

    box: x0, y0, x1, y1 as fractions of the crop side. feather: the width of the box's soft edge,
    as a fraction of the box side; outside the box and in the edge's outer part the whole-face
    model's residual takes over. removal: whether the part model also draws its attributes'
    removal (a negative step), or leaves it to the face model."""

    name: str
    box: tuple[float, float, float, float]
    attributes: tuple[str, ...]
    feather: float = 0.1
    removal: bool = False

    def pixels(self, size: int) -> tuple[int, int, int, int]:
        """The box in pixels of a crop of side `size`: x0, y0, x1, y1."""
        x0, y0, x1, y1 = (int(round(f * size)) for f in self.box)
        return x0, y0, x1, y1

    def side(self, size: int) -> int:
        """The box's side in pixels of a crop of side `size`."""
        x0, _, x1, _ = self.pixels(size)
        return x1 - x0

    def crop_side(self, box_side: int) -> int:
        """The side of the crop whose box is `box_side` pixels wide."""
        return round(box_side / (self.box[2] - self.box[0]))

    def to_dict(self) -> dict:
        """JSON-ready fields (lists, not tuples), as a model card stores them."""
        return {**dataclasses.asdict(self), "box": list(self.box),
                "attributes": list(self.attributes)}

    @classmethod
    def from_dict(cls, d: dict) -> "Part":
        return cls(d["name"], tuple(d["box"]), tuple(d["attributes"]), float(d["feather"]),
                   bool(d.get("removal", False)))

    def cut(self, crops: np.ndarray) -> np.ndarray:
        """The box of (B, S, S, C) crops: (B, s, s, C), a contiguous copy."""
        x0, y0, x1, y1 = self.pixels(crops.shape[1])
        return np.ascontiguousarray(crops[:, y0:y1, x0:x1])

    def of(self, prepared):
        """A `PreparedSet` whose images are this box of its crops (labels unchanged)."""
        return dataclasses.replace(prepared, images=self.cut(prepared.images))

    def weight(self, size: int) -> np.ndarray:
        """(S, S) float32: 1 inside the box, falling smoothly to 0 at its edge over `feather`
        of its side (a raised cosine), 0 outside."""
        x0, y0, x1, y1 = self.pixels(size)
        ramp = max(1.0, self.feather * (x1 - x0))

        def axis(lo: int, hi: int) -> np.ndarray:
            t = np.arange(size, dtype=np.float32) + 0.5
            inside = np.clip(np.minimum(t - lo, hi - t) / ramp, 0.0, 1.0)
            return 0.5 - 0.5 * np.cos(np.pi * inside)

        return np.outer(axis(y0, y1), axis(x0, x1)).astype(np.float32)


# The mouth box: the lower face from just under the eyes (0.45) to the crop's bottom, as wide as
# the cheeks a smile lifts. The mouth lies in its upper half (centre (0.5, 0.71) on average), the
# chin (0.9) inside it; the mouth corners of 98% of faces lie 11 px or more inside its sides. At
# 128 px: x 32..96, y 64..128. It adds smiles only: on 300 held-out smiles its removals (the
# closed lips' surroundings) passed the independent probe on 68% against the face model's 83%
# (benchmarks/results_mouth_part.json).
# The eye box: both eyes (centres (0.375, 0.45) and (0.625, 0.45)) with the brows above them and
# room on each side for a pair of glasses' lenses and the start of their arms (`facedit.eyewear`'s
# lenses span about 0.27..0.73). A square, as part models are: at 128 px x 24..104, y 16..96, so it
# also holds the nose's bridge and tip. It adds eyeglasses only: removal paints the frames out
# first (`facedit.edit`), which the face model's residual then only relights. None is shipped: the
# one trained in session 16 drew glasses the probe read more often but that were less real
# (benchmarks/results_eyes_part.json); added glasses' look is set by `facedit.eyewear`'s mask.
PARTS = {"mouth": Part("mouth", (0.25, 0.5, 0.75, 1.0), ("smiling",)),
         "eyes": Part("eyes", (0.1875, 0.125, 0.8125, 0.75), ("eyeglasses",))}


def compose(full: np.ndarray, inner: np.ndarray, part: Part) -> np.ndarray:
    """`full` (S, S, C) with `inner` (the box's (s, s, C) at this size) in the part's box under
    its feathered weight (`Part.weight`): what the editor decodes for a part's attribute."""
    x0, y0, x1, y1 = part.pixels(full.shape[0])
    if inner.shape[:2] != (y1 - y0, x1 - x0):
        raise ShapeError(f"inner: expected the {part.name} box of {y1 - y0}x{x1 - x0} px, got "
                         f"{inner.shape[0]}x{inner.shape[1]}")
    w = part.weight(full.shape[0])[y0:y1, x0:x1, None]
    out = full.copy()
    out[y0:y1, x0:x1] = full[y0:y1, x0:x1] * (1 - w) + inner * w
    return out


class PartBackend:
    """A part model as a backend of whole crops: `encode` takes model-size crops (B, S, S, 3)
    uint8 and cuts the part's box; `decode` gives the box (B, s, s, 3) float32 0..255. So
    `facedit directions learn --model part:FOLDER` learns its directions from the prepared set as
    it does the face model's."""

    draws_frames = False

    def __init__(self, part: Part, vae, name: str):
        self.part = part
        self.vae = vae  # a `TorchVAEBackend` of the box
        self.name = name
        self.latent_dim = vae.latent_dim
        self.size = part.crop_side(vae.size)  # the whole crop's side

    def encode(self, crops: np.ndarray) -> np.ndarray:
        return self.vae.encode(self.part.cut(crops))

    def decode(self, latents: np.ndarray) -> np.ndarray:
        return self.vae.decode(latents)


@dataclass
class PartModel:
    """A part's model and its directions: what the editor needs to draw the part's attributes."""

    backend: PartBackend
    directions: object  # `facedit.directions.DirectionSet`

    @property
    def part(self) -> Part:
        return self.backend.part

    def draws(self, name: str, step: float) -> bool:
        """Whether this model draws a raw `step` of attribute `name`."""
        return (name in self.part.attributes and name in self.directions and
                (step > 0 or (step < 0 and self.part.removal)))


def load_part_backend(folder) -> PartBackend:
    """The part model in `folder` (`facedit train model --part NAME --export FOLDER`): its card
    names the box."""
    import json
    from pathlib import Path

    from facedit.models.backend import TorchVAEBackend
    from facedit.models.store import load_model
    from facedit.models.vae import FaceVAE, VAEConfig

    folder = Path(folder)
    card = folder / "model_card.json"
    try:
        part = Part.from_dict(json.loads(card.read_text())["part"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise WeightsError(f"{card}: not a part model's card ({exc})") from None
    model = load_model(folder, FaceVAE, VAEConfig)
    return PartBackend(part, TorchVAEBackend(model, model.config.size, model.config.latent,
                                             f"part:{folder}"), f"part:{folder}")


def load_part(folder) -> PartModel:
    """A part model with the directions in its folder's `directions` subfolder."""
    from pathlib import Path

    from facedit.directions import load_model_directions

    backend = load_part_backend(folder)
    return PartModel(backend, load_model_directions(backend.name, Path(folder) / "directions"))


def shipped_parts() -> list[PartModel]:
    """The part models shipped with facedit (`weights/<part>` folders with a card naming a
    part), each with its directions."""
    from facedit.models import WEIGHTS

    return [load_part(WEIGHTS / name) for name in sorted(PARTS)
            if (WEIGHTS / name / "model_card.json").is_file()]
