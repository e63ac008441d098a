"""Saved models: one folder per model with `config.json`, `model.safetensors` and `model_card.json`.

Weights are stored as safetensors (never pickled code), fp16 where asked; loading checks every
tensor's name and shape and raises `WeightsError` with the first mismatch.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from facedit.errors import WeightsError
from facedit.io import atomic_output


def save_model(folder: Path, model: torch.nn.Module, config: Any, card: dict,
               half: bool = True) -> Path:
    """Write `model`'s state (fp16 floats if `half`) with its config and model card."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: (v.half() if half and v.is_floating_point() else v).contiguous().cpu()
             for k, v in model.state_dict().items()}
    with atomic_output(folder / "model.safetensors") as tmp:
        save_file(state, str(tmp))
    for name, payload in (("config.json", config.to_dict()), ("model_card.json", card)):
        with atomic_output(folder / name) as tmp:
            tmp.write_text(json.dumps(payload, indent=1))
    return folder


def load_model(folder: Path, model_cls, config_cls, device: str = "cpu") -> torch.nn.Module:
    """Build `model_cls(config_cls.from_dict(config.json))` and load its safetensors, in eval mode."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = Path(folder)
    for name in ("config.json", "model.safetensors"):
        if not (folder / name).is_file():
            raise WeightsError(f"{folder / name}: missing; the model folder is incomplete")
    try:
        config = config_cls.from_dict(json.loads((folder / "config.json").read_text()))
    except (ValueError, TypeError) as exc:
        raise WeightsError(f"{folder / 'config.json'}: invalid ({exc})") from None
    try:
        state = load_file(str(folder / "model.safetensors"))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise WeightsError(f"{folder / 'model.safetensors'}: corrupt or unreadable ({exc})") from None
    model = model_cls(config)
    check_state(model, state, str(folder / "model.safetensors"))
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    return model.to(device).eval()


def check_state(model: torch.nn.Module, state: dict, label: str) -> None:
    """Raise `WeightsError` naming the first missing, misshapen or unexpected tensor. `model` may
    live on the meta device: only its tensors' names and shapes are read."""
    expected = model.state_dict()
    for name, tensor in expected.items():
        if name not in state:
            raise WeightsError(f"{label}: missing tensor {name!r} (expected shape "
                               f"{list(tensor.shape)})")
        if tuple(state[name].shape) != tuple(tensor.shape):
            raise WeightsError(f"{label}: tensor {name!r} has shape {list(state[name].shape)}, "
                               f"expected {list(tensor.shape)}")
    extra = sorted(set(state) - set(expected))
    if extra:
        raise WeightsError(f"{label}: unexpected tensor {extra[0]!r} ({len(extra)} in all)")
