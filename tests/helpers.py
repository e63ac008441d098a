"""Small image helpers shared by test modules (pytest puts tests/ on the import path:
`pythonpath` in pyproject.toml)."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image


def encode(image: np.ndarray | Image.Image, fmt: str, **params) -> bytes:
    """Encode an RGB array or PIL image with PIL."""
    pil = image if isinstance(image, Image.Image) else Image.fromarray(image)
    buffer = io.BytesIO()
    pil.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def png_bytes(image: np.ndarray) -> bytes:
    return encode(image, "PNG")


def response_image(response) -> np.ndarray:
    """The RGB pixels of an HTTP response's image body."""
    return np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB"))


def upload(client, data: bytes, name: str = "photo.png"):
    """POST image bytes to the server's /v1/faces; the response."""
    return client.post("/v1/faces", files={"file": (name, data, "image/png")})


def upload_face(client, image: np.ndarray) -> str:
    """Upload an RGB image that has a face; its face id (the upload must succeed)."""
    r = upload(client, png_bytes(image), "face.png")
    assert r.status_code == 200, r.text
    return r.json()["face_id"]
