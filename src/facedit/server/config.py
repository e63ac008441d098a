"""The server's limits and settings, as one frozen dataclass (its fields are its config)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from facedit.errors import ConfigError


@dataclass(frozen=True)
class ServerConfig:
    """Settings of one server.

    model: the model spec the editor was loaded for (names the user's translation store);
        None: the editor's own (`Editor.spec`).
    max_upload_bytes: largest photo file accepted (larger: 413).
    max_pixels: largest photo accepted, width x height (larger: 413), checked on the header.
    cache_faces / cache_bytes: the face cache holds at most this many photos and bytes of
        photo pixels; the least recently used photo leaves first.
    max_frames: most frames of a GIF or grid.
    translations_dir: base folder of the user's translation stores (default:
        $FACEDIT_HOME/translations); a store per model inside it. Never taken from a client.
    """

    model: str | None = None
    max_upload_bytes: int = 16 * 1024 * 1024
    max_pixels: int = 24_000_000
    cache_faces: int = 32
    cache_bytes: int = 768 * 1024 * 1024
    max_frames: int = 24
    translations_dir: Path | None = None

    def __post_init__(self):
        for name in ("max_upload_bytes", "max_pixels", "cache_faces", "cache_bytes"):
            if getattr(self, name) < 1:
                raise ConfigError(f"server {name}: expected a positive number, got "
                                  f"{getattr(self, name)}")
        if not 2 <= self.max_frames <= 100:
            raise ConfigError(f"server max_frames: expected 2..100, got {self.max_frames}")
