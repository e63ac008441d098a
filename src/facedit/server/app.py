"""The FastAPI app: the REST API under /v1, its OpenAPI schema, and the browser editor at /.

    create_app(editor, ServerConfig(...)) -> FastAPI

Errors are JSON `{"error": message}`: an upload over the size or pixel limit is 413; a file that
is not an image, a photo without a face and any invalid value are 422; an unknown face id is 404.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from fastapi import FastAPI, File, Path as PathParam, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline

from facedit import __version__
from facedit.errors import (ConfigError, FaceditError, ImageError, ImageTooLargeError,
                             NoFaceError, ShapeError)
from facedit.server.cache import UnknownFaceError
from facedit.server.config import ServerConfig
from facedit.server.models import (FACE_ID, AttributeInfo, EditRequest, ErrorBody, FaceInfo,
                                   Health, InterpolateRequest, MirrorRequest, SavedTranslation,
                                   SweepRequest, TranslationInfo, TranslationRequest)
from facedit.server.service import MEDIA_TYPES, EditService, encode, \
    frames_bytes

STATIC = Path(__file__).parent / "static"
MULTIPART_SLACK = 64 * 1024  # multipart headers and boundaries around the file itself

_STATUS = ((ImageTooLargeError, 413), (UnknownFaceError, 404), (ImageError, 422),
           (NoFaceError, 422), (ShapeError, 422), (ConfigError, 422))
_ERRORS = {413: {"model": ErrorBody, "description": "Upload over the size or pixel limit"},
           404: {"model": ErrorBody, "description": "Unknown face id"},
           422: {"model": ErrorBody, "description": "Invalid input: not an image, no face, bad "
                                                    "value"}}


def _image_response(content: bytes, fmt: str, headers: dict | None = None) -> Response:
    return Response(content, media_type=MEDIA_TYPES[fmt], headers=headers or {})


def _image_doc(*types: str) -> dict:
    return {200: {"content": {t: {} for t in types}, "description": "The image"}, **_ERRORS}


class BodyLimit:
    """ASGI middleware: a request body over `limit` bytes is answered 413 without reading the rest
    (by its Content-Length, or while it streams in when it has none)."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            return await self._refuse(send, int(length))
        seen, over, started = 0, False, False

        async def counted_receive():
            nonlocal seen, over
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                over = True
                raise _TooLong()
            return message

        async def guarded_send(message):
            # The app may catch the error while parsing the body and answer 400 itself: once
            # the body ran over, its answer is replaced by ours.
            nonlocal started
            if over:
                if not started:
                    started = True
                    await self._refuse(send, seen)
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except _TooLong:
            if not started:
                await self._refuse(send, seen)

    async def _refuse(self, send, size: int):
        body = json.dumps({"error": f"request body of {size}+ bytes is over the limit of "
                                    f"{self.limit} bytes; send a smaller file"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class _TooLong(Exception):
    pass


def create_app(editor, config: ServerConfig | None = None) -> FastAPI:
    """The app around `editor` (a loaded `facedit.edit.Editor`)."""
    config = config or ServerConfig()
    # FastAPIOffline: FastAPI whose /docs and /redoc load Swagger UI / ReDoc from files in the
    # package, not from a CDN (facedit runs offline).
    app = FastAPIOffline(title="facedit", version=__version__, description=(
        "Edit the attributes of a face in a photo and change nothing else. Upload a photo once "
        "(POST /v1/faces) and edit its face by id as often as you like."))
    service = EditService(editor, config)

    @app.exception_handler(FaceditError)
    async def facedit_error(request: Request, exc: FaceditError):
        status = next((code for kind, code in _STATUS if isinstance(exc, kind)), 500)
        return JSONResponse({"error": str(exc)}, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        parts = []
        for e in exc.errors():
            where = ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body"
            parts.append(f"{where}: {e.get('msg', 'invalid')}")
        return JSONResponse({"error": "; ".join(parts) or "invalid request"}, status_code=422)

    # -- API ------------------------------------------------------------------------------------

    @app.get("/v1/health", response_model=Health, tags=["service"])
    def health() -> dict:
        """Liveness and the face cache's fill."""
        return {"status": "ok", "model": service.config.model, "faces_cached": len(service.cache),
                "cache_limit": config.cache_faces, "version": __version__}

    @app.get("/v1/attributes", response_model=list[AttributeInfo], tags=["service"])
    def attributes() -> list[dict]:
        """Every editable attribute: group, regions, whether it takes a target probability
        (calibrated) and the ranges of both kinds of value."""
        return service.attributes()

    FaceIdParam = PathParam(pattern=FACE_ID, description="An id from POST /v1/faces")

    @app.post("/v1/faces", response_model=FaceInfo, responses=_ERRORS, tags=["faces"])
    def upload(file: UploadFile = File(description="A photo: JPEG, PNG, WebP, BMP or TIFF")):
        """Upload a photo: its largest face is detected, aligned and encoded once and kept in a
        bounded cache under the returned id."""
        data = file.file.read(config.max_upload_bytes + 1)
        session = service.upload(data, file.filename or "photo")
        return _face_info(session)

    @app.get("/v1/faces/{face_id}", response_model=FaceInfo, responses=_ERRORS, tags=["faces"])
    def face_info(face_id: str = FaceIdParam):
        """What POST /v1/faces returned for this id."""
        return _face_info(service.cache.get(face_id))

    @app.delete("/v1/faces/{face_id}", status_code=204, responses=_ERRORS, tags=["faces"])
    def forget(face_id: str = FaceIdParam):
        """Drop the photo from the cache."""
        service.cache.delete(face_id)
        return Response(status_code=204)

    @app.get("/v1/faces/{face_id}/original", responses=_image_doc("image/png", "image/jpeg"),
             tags=["faces"])
    def original(face_id: str = FaceIdParam, view: Literal["photo", "crop"] = "photo",
                 format: Literal["png", "jpeg"] = "jpeg",
                 max_side: int | None = Query(None, ge=64, le=8192)):
        """The unedited photo (or aligned face crop) as uploaded."""
        image = service.original(face_id, view, max_side)
        return _image_response(encode(image, format), format)

    @app.post("/v1/faces/{face_id}/render", responses=_image_doc("image/png", "image/jpeg"),
              tags=["edits"])
    def render(body: EditRequest, face_id: str = FaceIdParam):
        """The edited photo (or face crop). Headers (JSON): X-Facedit-Steps, the raw steps used;
        X-Facedit-Expected, each calibrated attribute's predicted reading after the edit (below
        the target when the model cannot reach it)."""
        image, steps, expected = service.render(face_id, body.strengths, body.raw, body.view,
                                                  body.max_side, body.glasses_tint)
        return _image_response(encode(image, body.format), body.format, {
            "X-Facedit-Steps": json.dumps({k: round(v, 4) for k, v in steps.items()}),
            "X-Facedit-Expected": json.dumps({k: round(v, 4) for k, v in expected.items()})})

    @app.post("/v1/faces/{face_id}/sweep", responses=_image_doc("image/gif", "image/png"),
              tags=["edits"])
    def sweep(body: SweepRequest, face_id: str = FaceIdParam):
        """The edit growing from nothing to the given strengths: a GIF or a grid (PNG)."""
        frames = service.sweep(face_id, body.strengths, body.raw, body.frames, body.view,
                               body.glasses_tint)
        return _image_response(frames_bytes(frames, body.format, "edit"), body.format)

    @app.post("/v1/faces/{face_id}/mirror", responses=_image_doc("image/gif", "image/png"),
              tags=["edits"])
    def mirror(body: MirrorRequest, face_id: str = FaceIdParam):
        """The face morphing into its own left-right mirror image: a GIF or a grid (PNG)."""
        frames = service.mirror(face_id, body.frames, body.method, body.view)
        return _image_response(frames_bytes(frames, body.format, "mirror"), body.format)

    @app.post("/v1/interpolate", responses=_image_doc("image/gif", "image/png"), tags=["edits"])
    def interpolate(body: InterpolateRequest):
        """One uploaded face morphing into another: a GIF or a grid (PNG)."""
        frames = service.interpolate(body.face_from, body.face_to, body.frames, body.method,
                                       body.view)
        return _image_response(frames_bytes(frames, body.format, "morph"), body.format)

    @app.get("/v1/translations", response_model=list[TranslationInfo], tags=["translations"])
    def translations():
        """Every translation of the model: shipped, and the user's (which hide shipped ones)."""
        return service.translations()

    @app.post("/v1/translations", response_model=SavedTranslation, responses=_ERRORS,
              tags=["translations"])
    def save_translation(body: TranslationRequest):
        """Save an edit (edited minus original latent) as a named translation for the batch
        pipeline. The name must follow the naming rules; it never names a file."""
        return service.save_translation(body.name, body.face_id, body.strengths, body.raw)

    # -- the page -------------------------------------------------------------------------------

    @app.get("/", include_in_schema=False)
    def page():
        return FileResponse(STATIC / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(BodyLimit, limit=config.max_upload_bytes + MULTIPART_SLACK)
    return app


def _face_info(session) -> dict:
    aligned = session.face.aligned
    box = aligned.face.transformed(aligned.inverse).box  # crop pixels -> photo pixels
    return {"face_id": session.id, "width": int(session.photo.shape[1]),
            "height": int(session.photo.shape[0]), "box": [round(float(v), 1) for v in box],
            "readings": {k: round(v, 4) for k, v in session.readings.items()}}
