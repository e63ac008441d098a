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

def __getattr__(name: str):
    # `facedit.Editor` without importing the editing stack (OpenCV, SciPy) at `import facedit`.
    if name == "Editor":
        from facedit.edit import Editor
        return Editor
    raise AttributeError(f"module 'facedit' has no attribute {name!r}")


__all__ = [
    "__version__",
    "Editor",
    "FaceditError",
    "ImageError",
    "NoFaceError",
    "ShapeError",
    "WeightsError",
    "ConfigError",
]
