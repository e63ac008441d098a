"""Face detection and dense landmarks from MediaPipe's bundled models.

A photo goes through MediaPipe's full-range face detector (on a copy at most `detect_side` pixels
wide), then each face box is cropped, scaled to `mesh_side` pixels and given to MediaPipe's face
mesh with iris refinement, which returns 478 points. Cropping first makes the result independent of
the photo's size: a small face in a 20-megapixel photo gets the same mesh as a close-up.

Left and right are as seen in the image throughout: the "left eye" is the eye on the image's left,
which is the subject's right eye.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from enum import IntEnum

import cv2
import numpy as np

from facedit.errors import FaceditError, NoFaceError, check_image_array

# Ordered rings of mesh indices (MediaPipe face mesh topology, 468 points + 10 iris points).
EYE_LEFT_RING = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)
EYE_RIGHT_RING = (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466)
NOSE_TIP = 4
MOUTH_LEFT, MOUTH_RIGHT = 61, 291
# The lips' points from the left mouth corner to the right, paired column by column: the inner
# edge of the upper lip with the inner edge of the lower lip, and the outer edges above / below.
UPPER_LIP_INNER = (191, 80, 81, 82, 13, 312, 311, 310, 415)
LOWER_LIP_INNER = (95, 88, 178, 87, 14, 317, 402, 318, 324)
UPPER_LIP_OUTER = (185, 40, 39, 37, 0, 267, 269, 270, 409)
LOWER_LIP_OUTER = (146, 91, 181, 84, 17, 314, 405, 321, 375)
INNER_MOUTH_RING = (78,) + UPPER_LIP_INNER + (308,) + LOWER_LIP_INNER[::-1]
OUTER_MOUTH_RING = (MOUTH_LEFT,) + UPPER_LIP_OUTER + (MOUTH_RIGHT,) + LOWER_LIP_OUTER[::-1]

# The 68-point layout of dlib / iBUG 300-W, each point taken from the nearest mesh vertex:
# jaw 0-16, brows 17-26, nose 27-35, eyes 36-47, outer lips 48-59, inner lips 60-67.
MESH_TO_68 = (
    162, 234, 93, 58, 172, 136, 149, 148, 152, 377, 378, 365, 397, 288, 323, 454, 389,
    71, 63, 105, 66, 107, 336, 296, 334, 293, 301,
    168, 197, 5, 4, 75, 97, 2, 326, 305,
    33, 160, 158, 133, 153, 144, 362, 385, 387, 263, 373, 380,
    61, 39, 37, 0, 267, 269, 291, 405, 314, 17, 84, 181,
    78, 82, 13, 312, 308, 317, 14, 87,
)


class Keypoint(IntEnum):
    """Rows of `Face.points5`."""

    EYE_LEFT = 0
    EYE_RIGHT = 1
    NOSE = 2
    MOUTH_LEFT = 3
    MOUTH_RIGHT = 4


@dataclass(frozen=True)
class Face:
    """One detected face, in the pixel coordinates of the photo it was found in.

    Attributes:
        box: (4,) float32 `x0, y0, x1, y1` of the detector's box.
        score: the detector's confidence in [0, 1].
        mesh: (478, 3) float32; x, y in pixels, z a relative depth in pixels (smaller = nearer).
    """

    box: np.ndarray
    score: float
    mesh: np.ndarray

    @classmethod
    def from_points(cls, xy: np.ndarray) -> "Face":
        """A face from stored (478, 2) landmarks (a prepared set's mesh, in crop pixels): depth 0,
        the landmarks' bounding box, score 1."""
        xy = np.asarray(xy, np.float32)
        mesh = np.concatenate([xy, np.zeros((len(xy), 1), np.float32)], axis=1)
        return cls(box=np.array([*xy.min(axis=0), *xy.max(axis=0)], np.float32), score=1.0,
                   mesh=mesh)

    def axes(self) -> tuple[np.ndarray, np.ndarray]:
        """Unit vectors (2,) in the face's own frame: along the eye line (from the image-left eye
        to the other) and down the face (perpendicular to it, towards the chin)."""
        p = self.points5
        along = (p[1] - p[0]) / max(np.hypot(*(p[1] - p[0])), 1e-6)
        return along, np.array([-along[1], along[0]])

    @property
    def points5(self) -> np.ndarray:
        """(5, 2) float32: eye centres (image-left first), nose tip, mouth corners (image-left first)."""
        xy = self.mesh[:, :2]
        return np.stack([
            xy[list(EYE_LEFT_RING)].mean(axis=0),
            xy[list(EYE_RIGHT_RING)].mean(axis=0),
            xy[NOSE_TIP],
            xy[MOUTH_LEFT],
            xy[MOUTH_RIGHT],
        ]).astype(np.float32)

    @property
    def points68(self) -> np.ndarray:
        """(68, 2) float32 in the dlib / iBUG 300-W order (see `MESH_TO_68`)."""
        return self.mesh[list(MESH_TO_68), :2].astype(np.float32)

    @property
    def area(self) -> float:
        x0, y0, x1, y1 = self.box
        return float(max(0.0, x1 - x0) * max(0.0, y1 - y0))

    def transformed(self, matrix: np.ndarray) -> "Face":
        """This face with its points mapped by a 2x3 similarity `matrix` (z scaled alike)."""
        scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
        xy = self.mesh[:, :2] @ matrix[:, :2].T + matrix[:, 2]
        mesh = np.concatenate([xy, self.mesh[:, 2:] * scale], axis=1).astype(np.float32)
        corners = np.array([[self.box[0], self.box[1]], [self.box[2], self.box[3]]])
        c = corners @ matrix[:, :2].T + matrix[:, 2]
        box = np.array([c[:, 0].min(), c[:, 1].min(), c[:, 0].max(), c[:, 1].max()], np.float32)
        return Face(box=box, score=self.score, mesh=mesh)


class FaceDetector:
    """Finds faces and their 478-point meshes. Models load on first use; calls are thread-safe.

    Example:
        >>> faces = FaceDetector().detect(photo)          # doctest: +SKIP
        >>> faces[0].points5.shape
        (5, 2)
    """

    def __init__(self, min_confidence: float = 0.5, detect_side: int = 640, mesh_side: int = 256,
                 crop_scale: float = 2.0):
        self.min_confidence = min_confidence
        self.detect_side = detect_side
        self.mesh_side = mesh_side
        self.crop_scale = crop_scale
        self._lock = threading.Lock()
        self._models: dict[str, object] = {}

    def _model(self, name: str):
        if name not in self._models:
            mp = _import_mediapipe()
            if name == "mesh":
                self._models[name] = mp.solutions.face_mesh.FaceMesh(
                    static_image_mode=True, max_num_faces=1, refine_landmarks=True,
                    min_detection_confidence=self.min_confidence)
            else:  # "far" = full-range detector (up to 5 m), "near" = short-range (2 m)
                self._models[name] = mp.solutions.face_detection.FaceDetection(
                    model_selection=1 if name == "far" else 0,
                    min_detection_confidence=self.min_confidence)
        return self._models[name]

    def detect(self, image: np.ndarray, all_faces: bool = True) -> list[Face]:
        """Faces in an (H, W, 3) uint8 RGB image, largest first; [] when there is none."""
        check_image_array(image)
        with self._lock:
            boxes = self._boxes(image)
            faces = [f for f in (self.mesh_in_box(image, box, score) for box, score in boxes) if f]
        faces.sort(key=lambda f: f.area, reverse=True)
        return faces if all_faces else faces[:1]

    def largest(self, image: np.ndarray, label: str = "image") -> Face:
        """The largest face, or `NoFaceError` naming `label`."""
        faces = self.detect(image, all_faces=False)
        if not faces:
            raise NoFaceError(f"{label}: no face found")
        return faces[0]

    def _boxes(self, image: np.ndarray) -> list[tuple[np.ndarray, float]]:
        h, w = image.shape[:2]
        scale = min(1.0, self.detect_side / max(h, w))
        small = image if scale == 1.0 else cv2.resize(
            image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        for name in ("far", "near"):  # the near model finds close-ups the far model misses
            result = self._model(name).process(small)
            if result.detections:
                break
        boxes = []
        for det in result.detections or []:
            rb = det.location_data.relative_bounding_box
            box = np.array([rb.xmin * w, rb.ymin * h, (rb.xmin + rb.width) * w,
                            (rb.ymin + rb.height) * h], dtype=np.float32)
            boxes.append((box, float(det.score[0])))
        return boxes

    def mesh_in_box(self, image: np.ndarray, box: np.ndarray, score: float) -> Face | None:
        """The 478-point mesh of the face in detection `box` (x0, y0, x1, y1) of an RGB `image`,
        or None when the mesh finds no face there (skips detection when the box is known)."""
        # A square crop around the box, scaled to mesh_side: the mesh sees every face at one size.
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        side = self.crop_scale * max(box[2] - box[0], box[3] - box[1])
        s = self.mesh_side / side
        matrix = np.array([[s, 0, self.mesh_side / 2 - s * cx],
                           [0, s, self.mesh_side / 2 - s * cy]], dtype=np.float64)
        interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
        crop = cv2.warpAffine(image, matrix, (self.mesh_side, self.mesh_side), flags=interp,
                              borderMode=cv2.BORDER_REPLICATE)
        result = self._model("mesh").process(crop)
        if not result.multi_face_landmarks:
            return None
        lm = result.multi_face_landmarks[0].landmark
        pts = np.array([(p.x, p.y, p.z) for p in lm], dtype=np.float64) * self.mesh_side
        inverse = cv2.invertAffineTransform(matrix)
        xy = pts[:, :2] @ inverse[:, :2].T + inverse[:, 2]
        mesh = np.concatenate([xy, pts[:, 2:] / s], axis=1).astype(np.float32)
        return Face(box=box, score=score, mesh=mesh)


def _import_mediapipe():
    try:
        import mediapipe as mp
    except ImportError as exc:  # pragma: no cover - mediapipe is a core dependency
        raise FaceditError("mediapipe is not installed: pip install mediapipe==0.10.14") from exc
    if not hasattr(mp, "solutions"):
        raise FaceditError(f"mediapipe {mp.__version__} lacks the bundled face models; "
                           f"install mediapipe==0.10.14")
    return mp
