"""The browser editor end to end: Playwright drives Debian's Chromium against a real uvicorn server
on a free port. It uploads the astronaut, drags the smile slider and sees the preview change,
toggles before/after, undoes and redoes, saves the image, a translation and a GIF, and
drops a second photo on the page. Screenshots go
to outputs/server/ (git-ignored) for a person to look at.

Skips, saying why, when /usr/bin/chromium or the playwright package is missing (`make test`
installs both)."""
from __future__ import annotations

import base64
import io
import json
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = Path(__file__).resolve().parents[1] / "outputs" / "server"

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium; `make test` does it)",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
uvicorn = pytest.importorskip("uvicorn")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("translations")


@pytest.fixture(scope="module")
def server(store_dir):
    """The app with the shipped models, served by uvicorn in a thread; yields its base URL."""
    from facedit.edit import Editor
    from facedit.server import ServerConfig, create_app

    app = create_app(Editor.load("builtin"), ServerConfig(translations_dir=store_dir))
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not srv.started:
        if time.time() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def page(server):
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 860},
                                      accept_downloads=True)
        pg = context.new_page()
        pg.goto(server)
        pg.wait_for_selector("body[data-ready='1']", timeout=20000)
        yield pg
        context.close()
        browser.close()


def _png_bytes(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def _shot(page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / name
    page.screenshot(path=str(path))
    return path


def _preview(page) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(page.locator("#preview").screenshot())).convert("RGB"))


def _drag(page, selector: str, fraction: float, steps: int = 12) -> None:
    """Drag a range input's thumb from its current value to `fraction` of its width."""
    box = page.locator(selector).bounding_box()
    value = float(page.locator(selector).input_value())
    lo = float(page.locator(selector).get_attribute("min"))
    hi = float(page.locator(selector).get_attribute("max"))
    y = box["y"] + box["height"] / 2
    x0 = box["x"] + 8 + (box["width"] - 16) * (value - lo) / (hi - lo)
    page.mouse.move(x0, y)
    page.mouse.down()
    page.mouse.move(box["x"] + 8 + (box["width"] - 16) * fraction, y, steps=steps)
    page.mouse.up()


def _settled(page, renders_before: int) -> None:
    """Wait until a preview newer than `renders_before` is shown and none is in flight."""
    page.wait_for_function(
        f"parseInt(document.getElementById('preview').dataset.renders || '0') > {renders_before}",
        timeout=20000)
    page.wait_for_function("document.getElementById('status').textContent.startsWith('preview')",
                           timeout=20000)
    time.sleep(0.3)


def _renders(page) -> int:
    return int(page.locator("#preview").get_attribute("data-renders") or 0)


def test_edit_the_astronaut_in_the_browser(page, astronaut, tmp_path, store_dir):
    # 1. upload (through the file picker)
    photo = tmp_path / "astronaut.png"
    photo.write_bytes(_png_bytes(astronaut))
    page.set_input_files("#file", str(photo))
    page.wait_for_selector("body[data-face-id]", timeout=30000)
    page.wait_for_function("document.getElementById('preview').complete")
    _shot(page, "1_uploaded.png")
    before = _preview(page)
    smile = "#s-smiling"
    start = float(page.locator(smile).input_value())
    assert start > 0.5  # the slider starts at the judge's reading: the astronaut smiles

    # 2. drag the smile slider down: the preview follows
    _drag(page, smile, 0.05)
    _settled(page, 0)
    assert float(page.locator(smile).input_value()) < 0.2
    after = _preview(page)
    assert after.shape == before.shape
    assert np.abs(after.astype(int) - before.astype(int)).mean() > 0.05
    latencies = [int(page.locator("#preview").get_attribute("data-latency"))]
    n = _renders(page)  # a second slider: both edits in one preview
    _drag(page, "#s-blond_hair", 0.6)
    _settled(page, n)
    _shot(page, "2_smile_down_blond.png")

    # A few more single moves, timed by the page (request + decode + display).
    for fraction in (0.15, 0.1, 0.2, 0.05):
        n = _renders(page)
        _drag(page, smile, fraction, steps=2)
        _settled(page, n)
        latencies.append(int(page.locator("#preview").get_attribute("data-latency")))
    (SHOTS / "latency_ms.json").write_text(json.dumps(latencies))

    # 3. before / after
    page.click("#toggle")
    assert page.locator("#badge").inner_text() == "before"
    time.sleep(0.2)
    assert np.abs(_preview(page).astype(int) - before.astype(int)).mean() < 1.0
    _shot(page, "3_before.png")
    page.click("#toggle")
    assert page.locator("#badge").inner_text() == "after"

    # 4. undo / redo
    edited_value = page.locator(smile).input_value()
    n = _renders(page)
    page.click("#undo")
    _settled(page, n)
    assert page.locator(smile).input_value() != edited_value
    n = _renders(page)
    page.click("#redo")
    _settled(page, n)
    assert page.locator(smile).input_value() == edited_value

    # 5. save the image: the full-size edited photo
    with page.expect_download() as info:
        page.click("#save-image")
    saved = SHOTS / info.value.suggested_filename
    info.value.save_as(saved)
    image = np.asarray(Image.open(saved).convert("RGB"))
    assert image.shape == astronaut.shape and not np.array_equal(image, astronaut)

    # 6. save a translation: a name outside the rules is refused on the page, a good one stored
    page.fill("#trans-name", "../smile")
    page.click("#save-trans")
    page.wait_for_selector("#status.error")
    assert "naming rule" in page.locator("#status").inner_text()
    page.fill("#trans-name", "Bp_min")
    page.click("#save-trans")
    page.wait_for_function("document.getElementById('status').textContent.startsWith('saved')")
    assert "Bp_min" in page.locator("#status").inner_text()
    assert "Bp_min" in json.loads(next(store_dir.rglob("translations.json")).read_text())["meta"]
    _shot(page, "4_translation_saved.png")

    # 7. export the edit as a GIF
    with page.expect_download(timeout=60000) as info:
        page.click("#export-gif")
    gif = SHOTS / info.value.suggested_filename
    info.value.save_as(gif)
    assert Image.open(gif).n_frames > 2

    # 8. reset brings the slider back to the face's own reading
    n = _renders(page)
    page.click("#reset")
    _settled(page, n)
    assert float(page.locator(smile).input_value()) == pytest.approx(start, abs=0.01)

    # 8b. glasses on, then darker lenses: the preview follows the lens choice
    n = _renders(page)
    page.locator("#s-eyeglasses").scroll_into_view_if_needed()
    _drag(page, "#s-eyeglasses", 0.9)
    _settled(page, n)
    tinted = _preview(page)
    n = _renders(page)
    page.select_option("#lenses", "1")
    _settled(page, n)
    dark = _preview(page)
    assert dark.astype(int).sum() < tinted.astype(int).sum()
    _shot(page, "5_dark_lenses.png")

    # 9. drag-and-drop another photo onto the drop zone: a new face, sliders at its readings
    old_id = page.locator("body").get_attribute("data-face-id")
    flipped = base64.b64encode(_png_bytes(np.ascontiguousarray(astronaut[:, ::-1]))).decode()
    page.evaluate("""(b64) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const transfer = new DataTransfer();
        transfer.items.add(new File([bytes], "dropped.png", {type: "image/png"}));
        document.getElementById("drop").dispatchEvent(
            new DragEvent("drop", {dataTransfer: transfer, bubbles: true, cancelable: true}));
    }""", flipped)
    page.wait_for_function(f"document.body.dataset.faceId !== '{old_id}'", timeout=30000)
    page.wait_for_function("document.getElementById('status').textContent.startsWith('dropped')")
    assert page.locator("#undo").is_disabled() and page.locator("#reset").is_disabled()


def test_api_docs_render_offline(page, server):
    """Swagger UI (served by facedit, no network) renders the OpenAPI 3.1 schema's operations."""
    docs = page.context.new_page()
    try:
        docs.goto(f"{server}/docs")
        docs.wait_for_selector(".opblock-summary-path", timeout=20000)
        paths = docs.locator(".opblock-summary-path").all_inner_texts()
        assert any("/v1/faces/{face_id}/render" in t for t in paths), paths
        _shot(docs, "api_docs.png")
    finally:
        docs.close()
