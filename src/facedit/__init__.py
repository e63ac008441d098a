"""facedit: edit the attributes of a face in an ordinary photo and change nothing else.

Importing facedit loads no model and touches no device; models load on first use.
"""
from importlib.metadata import PackageNotFoundError, version

from facedit.errors import (
    ConfigError,
    FaceditError,
    ImageError,
    NoFaceError,
    ShapeError,
    WeightsError,
)

try:
    __version__ = version("facedit")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"

__all__ = [
    "__version__",
    "FaceditError",
    "ImageError",
    "NoFaceError",
    "ShapeError",
    "WeightsError",
    "ConfigError",
]
