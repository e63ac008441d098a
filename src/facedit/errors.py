"""The one error hierarchy of facedit.

Every error a user can cause is a `FaceditError`; the CLI prints its message on one line and exits
with status 2, the server turns it into a 4xx JSON answer. Messages say what was expected, what came,
and (where it helps) what to do.
"""


class FaceditError(Exception):
    """Base class of every error facedit raises on purpose."""


class ImageError(FaceditError):
    """An image could not be read, is not an image, or is outside the accepted size."""


class ImageTooLargeError(ImageError):
    """An image (or an upload) over the accepted size in bytes or pixels."""


class NoFaceError(FaceditError):
    """No face was found where one was needed."""


class ShapeError(FaceditError, ValueError):
    """An array has the wrong shape, dtype or value range."""


class WeightsError(FaceditError):
    """Model weights are missing, corrupt, or do not match the expected architecture."""


class ConfigError(FaceditError, ValueError):
    """A configuration value or command option is invalid."""


def check_image_array(image, name: str = "image") -> None:
    """Raise `ShapeError` unless `image` is an (H, W, 3) uint8 RGB array."""
    import numpy as np

    if not isinstance(image, np.ndarray):
        raise ShapeError(f"{name}: expected a numpy array, got {type(image).__name__}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise ShapeError(f"{name}: expected shape (H, W, 3), got {tuple(image.shape)}")
    if image.dtype != np.uint8:
        raise ShapeError(f"{name}: expected dtype uint8, got {image.dtype}")
