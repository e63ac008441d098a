"""Request and response bodies of the REST API (pydantic models; they make the OpenAPI schema)."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

FACE_ID = r"^[A-Za-z0-9_-]{1,64}$"

Strengths = dict[str, float]
_STRENGTHS = Field(default_factory=dict, max_length=64, description=(
    "{attribute: value}. Calibrated (default): the judge's target probability in [0, 1] after "
    "the edit (age: target years in [1, 100]). With raw=true: raw latent steps."))


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


_GLASSES_TINT = Field(None, ge=0.0, le=1.0, description=(
    "Lenses of added eyeglasses: 0 clear ... 1 dark (sunglasses); default: the server's (0.6). "
    "The frames are as dark either way."))


class EditRequest(_Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"strengths": {"smiling": 0.3, "blond_hair": 0.6}, "view": "photo", "format": "jpeg",
         "max_side": 768}]})

    strengths: Strengths = _STRENGTHS
    raw: bool = Field(False, description="Values are raw latent steps, not target probabilities.")
    view: Literal["photo", "crop"] = Field(
        "photo", description="The whole photo, or the aligned face crop (256 px).")
    format: Literal["png", "jpeg"] = "jpeg"
    max_side: int | None = Field(None, ge=64, le=8192, description=(
        "Downscale the image so that its longer side is at most this (previews)."))
    glasses_tint: float | None = _GLASSES_TINT


class SweepRequest(_Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"strengths": {"smiling": 0.3}, "frames": 4, "format": "gif", "view": "crop"}]})

    strengths: Strengths = _STRENGTHS
    raw: bool = False
    frames: int = Field(8, ge=2, le=100, description="Frames from no edit to the full edit.")
    format: Literal["gif", "grid"] = "gif"
    view: Literal["photo", "crop"] = "crop"
    glasses_tint: float | None = _GLASSES_TINT


class MirrorRequest(_Body):
    frames: int = Field(8, ge=2, le=100)
    method: Literal["warp", "latent"] = "warp"
    format: Literal["gif", "grid"] = "gif"
    view: Literal["photo", "crop"] = "crop"


class InterpolateRequest(MirrorRequest):
    face_from: str = Field(pattern=FACE_ID, description="The face the morph starts from (and "
                                                        "whose photo it is pasted into).")
    face_to: str = Field(pattern=FACE_ID)


class TranslationRequest(_Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "Se_0", "face_id": "St2q6JydNq4arOilTytVNA", "strengths": {"male": 0.9}}]})

    name: str = Field(max_length=32, description=(
        "A translation name by the naming rules: {c}_min/{c}_max, {c}_{v}, {c}_{new}_fr_{old}, "
        "bald."))
    face_id: str = Field(pattern=FACE_ID)
    strengths: Strengths = _STRENGTHS
    raw: bool = False


class FaceInfo(BaseModel):
    face_id: str
    width: int
    height: int
    box: list[float] = Field(description="The face's box in the photo: x0, y0, x1, y1 (pixels).")
    readings: dict[str, float] = Field(description=(
        "The judge's reading of each calibrated attribute on the unedited face: the slider's "
        "starting value."))


class AttributeInfo(BaseModel):
    name: str
    label: str
    group: str
    regions: list[str]
    calibrated: bool = Field(description="Accepts a target probability (or age in years).")
    range: list[float] = Field(description="Calibrated value range: [0, 1], or years for age.")
    raw_range: list[float]
    unit: Literal["probability", "years", "steps"]


class TranslationInfo(BaseModel):
    name: str
    kind: str
    origin: Literal["user", "shipped"]
    norm: float


class SavedTranslation(TranslationInfo):
    steps: dict[str, float]


class Health(BaseModel):
    status: Literal["ok"]
    model: str
    faces_cached: int
    cache_limit: int
    version: str


class ErrorBody(BaseModel):
    error: str = Field(description="What was expected, what came, and what to do.")
