"""The REST API with FastAPI's test client on the shipped models: every endpoint, every error
(413 oversized, 422 not an image / no face / bad value, 404 unknown face id), the bounded cache,
translation names that cannot name a file, and the slider calibration rule."""
from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
from fastapi.testclient import TestClient  # noqa: E402

from facedit.server import ServerConfig, create_app  # noqa: E402
from facedit.server.cache import FaceCache, FaceSession, UnknownFaceError  # noqa: E402
from facedit.server.calibration import step_for_target  # noqa: E402
from helpers import png_bytes, response_image, upload, upload_face  # noqa: E402


@pytest.fixture(scope="module")
def editor():
    """The shipped model, directions and judge (small: loads in a few seconds)."""
    from facedit.edit import Editor

    return Editor.load("builtin")


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("translations")


@pytest.fixture(scope="module")
def client(editor, store_dir):
    config = ServerConfig(max_upload_bytes=2_000_000, max_pixels=4_000_000, cache_faces=8,
                          translations_dir=store_dir)
    with TestClient(create_app(editor, config)) as c:
        yield c


@pytest.fixture(scope="module")
def face_id(client, astronaut):
    return upload_face(client, astronaut)


# -- service endpoints -----------------------------------------------------------------------------

def test_health(client):
    r = client.get("/v1/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["model"] == "builtin" and body["cache_limit"] == 8


def test_attributes_have_groups_and_ranges(client):
    attrs = {a["name"]: a for a in client.get("/v1/attributes").json()}
    assert attrs["smiling"]["group"] == "expression" and attrs["smiling"]["calibrated"]
    assert attrs["smiling"]["range"] == [0.0, 1.0] and attrs["smiling"]["unit"] == "probability"
    assert attrs["age"]["unit"] == "years" and attrs["age"]["range"] == [1.0, 100.0]
    assert attrs["eyeglasses"]["group"] == "accessories"
    assert {"expression", "hair", "age/sex/skin", "face shape", "accessories"} <= \
        {a["group"] for a in attrs.values()}
    assert attrs["smiling"]["raw_range"][0] < 0 < attrs["smiling"]["raw_range"][1]


def test_openapi_schema_lists_every_endpoint(client):
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/v1/health", "/v1/attributes", "/v1/faces", "/v1/faces/{face_id}",
                 "/v1/faces/{face_id}/original", "/v1/faces/{face_id}/render",
                 "/v1/faces/{face_id}/sweep", "/v1/faces/{face_id}/mirror", "/v1/interpolate",
                 "/v1/translations"):
        assert path in paths, path


def test_the_server_names_the_editors_own_model_unless_told(editor, tmp_path, monkeypatch):
    """Health and the translation store follow the model the editor was loaded for."""
    monkeypatch.setattr(editor, "spec", "builtin:/models/mine")
    with TestClient(create_app(editor, ServerConfig(translations_dir=tmp_path))) as c:
        assert c.get("/v1/health").json()["model"] == "builtin:/models/mine"
    with TestClient(create_app(editor, ServerConfig(model="builtin",
                                                    translations_dir=tmp_path))) as c:
        assert c.get("/v1/health").json()["model"] == "builtin"


def test_api_docs_are_served_without_a_cdn(client):
    """/docs and /redoc load their scripts from the server itself (facedit runs offline)."""
    import re

    for url in ("/docs", "/redoc"):
        page = client.get(url)
        assert page.status_code == 200
        scripts = re.findall(r'<script src="([^"]+)"', page.text)
        assert scripts and all(src.startswith("/") for src in scripts), scripts
        for src in scripts:
            asset = client.get(src)
            assert asset.status_code == 200 and len(asset.content) > 100_000, src


def test_page_and_static_files(client):
    page = client.get("/")
    assert page.status_code == 200 and "facedit" in page.text and "/static/app.js" in page.text
    for name in ("app.js", "style.css"):
        assert client.get(f"/static/{name}").status_code == 200
    assert client.get("/static/../app.py").status_code == 404


# -- faces -----------------------------------------------------------------------------------------

def test_upload_returns_face_and_readings(client, face_id, astronaut):
    info = client.get(f"/v1/faces/{face_id}").json()
    assert info["width"] == astronaut.shape[1] and info["height"] == astronaut.shape[0]
    x0, y0, x1, y1 = info["box"]
    assert 0 <= x0 < x1 <= astronaut.shape[1] and 0 <= y0 < y1 <= astronaut.shape[0]
    assert info["readings"]["smiling"] > 0.5  # the astronaut smiles
    assert 10 < info["readings"]["age"] < 90


def test_original_is_theupload(client, face_id, astronaut):
    r = client.get(f"/v1/faces/{face_id}/original", params={"format": "png"})
    assert r.headers["content-type"] == "image/png"
    assert np.array_equal(response_image(r), astronaut)
    crop = client.get(f"/v1/faces/{face_id}/original", params={"view": "crop", "format": "png"})
    assert response_image(crop).shape == (256, 256, 3)


def test_render_empty_edit_is_the_photo(client, face_id, astronaut):
    r = client.post(f"/v1/faces/{face_id}/render", json={"format": "png"})
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert np.array_equal(response_image(r), astronaut)


def test_render_calibrated_edit_changes_the_face_only(client, face_id, astronaut):
    r = client.post(f"/v1/faces/{face_id}/render",
                    json={"strengths": {"smile": 0.2}, "format": "png"})
    assert r.status_code == 200, r.text
    steps = json.loads(r.headers["x-facedit-steps"])
    expected = json.loads(r.headers["x-facedit-expected"])
    assert steps["smiling"] < 0 and "smiling" in expected
    out = response_image(r)
    changed = np.abs(out.astype(int) - astronaut.astype(int)).sum(axis=2) > 0
    assert changed.any()
    ys, xs = np.nonzero(changed)
    info = client.get(f"/v1/faces/{face_id}").json()
    x0, y0, x1, y1 = info["box"]
    # The change stays around the face: nothing in the photo's bottom rows or far corners.
    assert ys.max() < astronaut.shape[0] - 100 and xs.min() > x0 - (x1 - x0)


def test_render_raw_crop_jpeg_and_max_side(client, face_id):
    r = client.post(f"/v1/faces/{face_id}/render",
                    json={"strengths": {"eyeglasses": 2.0}, "raw": True, "view": "crop",
                          "format": "jpeg", "max_side": 128})
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    assert response_image(r).shape == (128, 128, 3)
    assert json.loads(r.headers["x-facedit-steps"]) == {"eyeglasses": 2.0}


def test_glasses_tint_clears_or_darkens_the_added_lenses(client, face_id):
    crops, steps = {}, {}
    for tint in (0.1, 1.0):
        body = {"strengths": {"eyeglasses": 2.0}, "raw": True, "view": "crop", "format": "png",
                "glasses_tint": tint}
        r = client.post(f"/v1/faces/{face_id}/render", json=body)
        assert r.status_code == 200, r.text
        crops[tint] = response_image(r).astype(int).sum(axis=2)
        # Calibrated, each tint has its own curve: a clear lens needs a larger step.
        body = {"strengths": {"eyeglasses": 0.9}, "glasses_tint": tint, "max_side": 128}
        r = client.post(f"/v1/faces/{face_id}/render", json=body)
        assert r.status_code == 200, r.text
        steps[tint] = json.loads(r.headers["x-facedit-steps"])["eyeglasses"]
    darker = crops[1.0] < crops[0.1]
    assert darker.sum() > 100 and (crops[1.0] > crops[0.1]).sum() < 0.1 * darker.sum()
    assert steps[0.1] > steps[1.0] > 0
    r = client.post(f"/v1/faces/{face_id}/sweep", json={"strengths": {"eyeglasses": 2.0},
                    "raw": True, "frames": 2, "format": "grid", "glasses_tint": 0.0})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("fmt, media", [("gif", "image/gif"), ("grid", "image/png")])
def test_sweep(client, face_id, fmt, media):
    r = client.post(f"/v1/faces/{face_id}/sweep",
                    json={"strengths": {"smiling": 1.5}, "raw": True, "frames": 3, "format": fmt})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == media
    image = Image.open(io.BytesIO(r.content))
    if fmt == "gif":
        assert image.n_frames == 4  # 3 frames, played forth and back
    else:
        assert image.width > 3 * 256


def test_mirror_and_interpolate(client, face_id, astronaut):
    r = client.post(f"/v1/faces/{face_id}/mirror", json={"frames": 3, "format": "grid"})
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    flipped = upload(client, png_bytes(np.ascontiguousarray(astronaut[:, ::-1]))).json()["face_id"]
    r = client.post("/v1/interpolate", json={"face_from": face_id, "face_to": flipped,
                                             "frames": 3, "view": "photo"})
    assert r.status_code == 200 and r.headers["content-type"] == "image/gif"
    assert Image.open(io.BytesIO(r.content)).size == (512, 512)


def test_delete_face(client, astronaut):
    fid = upload(client, png_bytes(astronaut)).json()["face_id"]
    assert client.delete(f"/v1/faces/{fid}").status_code == 204
    assert client.get(f"/v1/faces/{fid}").status_code == 404


# -- translations ----------------------------------------------------------------------------------

def test_save_and_list_translation(client, face_id, store_dir):
    # A raw step: what is saved does not hang on how far the model's bangs reach on this face.
    r = client.post("/v1/translations", json={"name": "B_1", "face_id": face_id,
                                              "strengths": {"bangs": 1.5}, "raw": True})
    assert r.status_code == 200, r.text
    saved = r.json()
    assert saved["kind"] == "default" and saved["origin"] == "user" and saved["norm"] > 0
    listed = {t["name"]: t for t in client.get("/v1/translations").json()}
    assert listed["B_1"]["origin"] == "user"
    assert listed["Be_max"]["origin"] == "shipped" and listed["Be_max"]["kind"] == "cursor"
    assert list(store_dir.rglob("translations.json")), "saved in the configured store only"


@pytest.mark.parametrize("name", ["../../etc/passwd", "/tmp/x", "B_1/../../x", "C_1", "Hc_9",
                                  "B_1\x00", "smile"])
def test_translation_names_follow_the_rules(client, face_id, store_dir, name):
    before = sorted(p.name for p in store_dir.rglob("*"))
    r = client.post("/v1/translations", json={"name": name, "face_id": face_id,
                                              "strengths": {"bangs": 0.9}})
    assert r.status_code == 422 and "translation name" in r.json()["error"]
    assert sorted(p.name for p in store_dir.rglob("*")) == before


def test_empty_translation_is_refused(client, face_id):
    r = client.post("/v1/translations", json={"name": "B_1", "face_id": face_id, "strengths": {}})
    assert r.status_code == 422 and "empty" in r.json()["error"]


# -- errors ----------------------------------------------------------------------------------------

def test_oversized_upload_is_413(client):
    r = upload(client, b"\xff" * 2_100_000)
    assert r.status_code == 413 and "limit" in r.json()["error"]


def test_oversized_pixel_count_is_413(client):
    big = np.zeros((2100, 2100, 3), np.uint8)  # 4.4 MP, a small PNG file
    r = upload(client, png_bytes(big))
    assert r.status_code == 413 and "megapixels" in r.json()["error"]


def test_body_over_the_limit_without_length_is_413(client):
    def chunks():  # a streamed multipart body: no Content-Length to refuse it by
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n'
        for _ in range(40):
            yield b"x" * 65536

    r = client.post("/v1/faces", content=chunks(),
                    headers={"content-type": "multipart/form-data; boundary=b"})
    assert r.status_code == 413


@pytest.mark.parametrize("kind", ["text", "truncated", "empty", "tiny"])
def test_not_an_image_is_422(client, bad_files, kind):
    path, _ = bad_files[kind]
    r = upload(client, path.read_bytes(), path.name)
    assert r.status_code == 422
    assert r.json()["error"]


def test_no_face_is_422(client, bad_files):
    path, _ = bad_files["no_face"]
    r = upload(client, path.read_bytes(), path.name)
    assert r.status_code == 422 and "face" in r.json()["error"]


def test_missing_file_is_422(client):
    r = client.post("/v1/faces")
    assert r.status_code == 422 and "file" in r.json()["error"]


@pytest.mark.parametrize("method, path, body", [
    ("get", "/v1/faces/{id}", None),
    ("get", "/v1/faces/{id}/original", None),
    ("delete", "/v1/faces/{id}", None),
    ("post", "/v1/faces/{id}/render", {}),
    ("post", "/v1/faces/{id}/sweep", {"strengths": {"smile": 0.1}}),
    ("post", "/v1/faces/{id}/mirror", {}),
])
def test_unknown_face_id_is_404(client, method, path, body):
    kwargs = {"json": body} if body is not None else {}
    r = getattr(client, method)(path.format(id="AAAAAAAAAAAAAAAAAAAAAA"), **kwargs)
    assert r.status_code == 404 and "unknown face id" in r.json()["error"]


def test_unknown_face_in_interpolate_and_translation_is_404(client, face_id):
    r = client.post("/v1/interpolate", json={"face_from": face_id, "face_to": "nope"})
    assert r.status_code == 404
    r = client.post("/v1/translations", json={"name": "B_1", "face_id": "nope",
                                              "strengths": {"bangs": 0.9}})
    assert r.status_code == 404


@pytest.mark.parametrize("body, words", [
    ({"strengths": {"smile": 1.5}}, "probability"),
    ({"strengths": {"age": 400}}, "age"),
    ({"strengths": {"teleport": 0.5}}, "unknown attribute"),
    ({"strengths": {"smile": 20.0}, "raw": True}, "raw step"),
    ({"strengths": {"smile": "lots"}}, "strengths.smile"),
    ({"view": "sideways"}, "view"),
    ({"max_side": 3}, "max_side"),
    ({"extra": 1}, "extra"),
    ({"glasses_tint": 1.5}, "glasses_tint"),
])
def test_bad_values_are_422(client, face_id, body, words):
    r = client.post(f"/v1/faces/{face_id}/render", json=body)
    assert r.status_code == 422 and words in r.json()["error"], r.status_code


def test_bad_face_id_and_frames_are_422(client, face_id):
    assert client.get("/v1/faces/..%2F..%2Fetc").status_code in (404, 422)
    r = client.post(f"/v1/faces/{face_id}/sweep", json={"strengths": {"smile": 0.1},
                                                         "frames": 50})
    assert r.status_code == 422 and "frames" in r.json()["error"]
    r = client.post(f"/v1/faces/{face_id}/sweep", json={"strengths": {}})
    assert r.status_code == 422 and "empty" in r.json()["error"]


# -- the cache -------------------------------------------------------------------------------------

def test_cache_drops_the_least_recently_used(editor, astronaut):
    with TestClient(create_app(editor, ServerConfig(cache_faces=2))) as small:
        ids = [upload(small, png_bytes(astronaut)).json()["face_id"] for _ in range(3)]
        assert small.get(f"/v1/faces/{ids[0]}").status_code == 404  # the oldest left
        assert all(small.get(f"/v1/faces/{i}").status_code == 200 for i in ids[1:])
        assert small.get("/v1/health").json()["faces_cached"] == 2


class _Face:
    class aligned:  # noqa: N801 - a stand-in for AlignedFace
        crop = np.zeros((4, 4, 3), np.uint8)


def _session(i: int, side: int) -> FaceSession:
    return FaceSession(f"id{i}", np.zeros((side, side, 3), np.uint8), _Face(), {})


def test_cache_bounds_items_and_bytes():
    cache = FaceCache(max_items=10, max_bytes=3 * 100 * 100 * 3 + 1000)
    for i in range(5):
        cache.put(_session(i, 100))
    assert len(cache) == 3 and cache.nbytes <= cache.max_bytes
    cache.get("id2")  # touched: now the most recent
    cache.put(_session(9, 100))
    assert [s for s in ("id2", "id3", "id4", "id9") if _has(cache, s)] == ["id2", "id4", "id9"]
    with pytest.raises(UnknownFaceError):
        cache.get("id0")


def _has(cache, face_id) -> bool:
    try:
        cache.get(face_id)
        return True
    except UnknownFaceError:
        return False


# -- calibration -----------------------------------------------------------------------------------

def test_step_for_target_follows_the_editor_rule():
    steps = np.linspace(-2, 2, 5)
    values = np.array([0.1, 0.2, 0.3, 0.5, 0.9])
    assert step_for_target(steps, values, 0.3) == 0.0
    assert step_for_target(steps, values, 0.7) == pytest.approx(1.5)
    assert step_for_target(steps, values, 0.15) == pytest.approx(-1.5)
    assert step_for_target(steps, values, 0.99) == 2.0  # out of reach: the strongest step
    # Not monotonic: the first crossing walking out from 0 wins.
    assert step_for_target(steps, np.array([0.9, 0.1, 0.3, 0.6, 0.2]), 0.5) == \
        pytest.approx(1 - 1 / 3)


def test_calibrated_render_reaches_its_target_on_the_judge(client, editor, face_id):
    """The curve's step, rendered and judged, lands near the asked probability."""
    r = client.post(f"/v1/faces/{face_id}/render",
                    json={"strengths": {"male": 0.5}, "view": "crop", "format": "png"})
    assert r.status_code == 200
    expected = json.loads(r.headers["x-facedit-expected"])["male"]
    crop = response_image(r)
    small = np.asarray(Image.fromarray(crop).resize((editor.model.size,) * 2, Image.BOX))
    judged = float(editor.judge.value(small[None], "Male")[0])
    assert abs(expected - 0.5) < 0.05 or abs(expected - 0.5) < abs(judged - 0.5) + 0.05
    assert abs(judged - expected) < 0.15


def test_serve_command_options():
    from click.testing import CliRunner

    from facedit.cli import main

    result = CliRunner().invoke(main, ["serve", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--model", "127.0.0.1", "8000", "builtin"):
        assert option in result.output
