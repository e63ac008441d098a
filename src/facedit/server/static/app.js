// The facedit browser editor: one slider per attribute, live preview through the REST API.
// No build step: plain ES2017, served as a static file.
"use strict";

const GROUPS = ["expression", "hair", "age/sex/skin", "face shape", "accessories", "other"];
const PREVIEW_SIDE = 768;  // the preview is downscaled to this; "Save image" is full size

const $ = (id) => document.getElementById(id);
const state = {
  faceId: null,
  name: "photo",
  readings: {},      // the judge's reading of the unedited face: every slider's start
  values: {},        // current slider values
  history: [],       // undo stack of value snapshots
  future: [],        // redo stack
  showBefore: false,
  originalUrl: null,
  editedUrl: null,
  inFlight: false,
  pending: false,
};

// -- helpers -------------------------------------------------------------------------------------

function setStatus(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}

async function errorText(response) {
  try { return (await response.json()).error || response.statusText; }
  catch (e) { return response.statusText; }
}

async function api(path, body) {
  const response = await fetch(path, {
    method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(await errorText(response));
  return response;
}

function download(blob, fileName) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = fileName;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

// The lens tint of added eyeglasses (0 clear ... 1 dark), sent with every edit request.
function glassesTint() { return parseFloat($("lenses").value); }

function stem() { return state.name.replace(/\.[^.]*$/, "") || "photo"; }

// The edit: every slider moved away from the face's own reading.
function strengths() {
  const out = {};
  for (const [name, value] of Object.entries(state.values)) {
    const start = state.readings[name];
    const tolerance = name === "age" ? 0.5 : 0.005;
    if (Math.abs(value - start) > tolerance) out[name] = value;
  }
  return out;
}

function format(name, value) {
  return name === "age" ? `${Math.round(value)} y` : value.toFixed(2);
}

// -- sliders ---------------------------------------------------------------------------------------

async function buildSliders() {
  const response = await fetch("/v1/attributes");
  const attributes = (await response.json()).filter((a) => a.calibrated);
  const panel = $("sliders");
  panel.textContent = "";
  for (const group of GROUPS) {
    const members = attributes.filter((a) => (GROUPS.includes(a.group) ? a.group : "other") === group);
    if (!members.length) continue;
    const details = document.createElement("details");
    details.open = group !== "other";
    details.innerHTML = `<summary>${group}</summary>`;
    for (const a of members) {
      const row = document.createElement("div");
      row.className = "slider";
      row.dataset.attr = a.name;
      const id = `s-${a.name}`;
      const step = a.unit === "years" ? 1 : 0.01;
      row.innerHTML = `<label for="${id}" title="${a.label}">${a.name.replace(/_/g, " ")}</label>
        <input id="${id}" type="range" min="${a.range[0]}" max="${a.range[1]}" step="${step}"
               data-attr="${a.name}" disabled>
        <output for="${id}"></output>`;
      details.appendChild(row);
    }
    panel.appendChild(details);
  }
  panel.addEventListener("pointerdown", onSliderStart);
  panel.addEventListener("keydown", onSliderStart);
  panel.addEventListener("input", onSliderInput);
  panel.addEventListener("change", () => refreshButtons());
}

function sliders() { return document.querySelectorAll("#sliders input[type=range]"); }

function showValues() {
  for (const input of sliders()) {
    const name = input.dataset.attr;
    if (!(name in state.values)) continue;
    input.value = state.values[name];
    const moved = name in strengths();
    input.closest(".slider").classList.toggle("moved", moved);
    input.nextElementSibling.textContent = format(name, state.values[name]);
  }
}

// A gesture on a slider starts: remember the values before it, for undo.
let gestureSaved = false;
function onSliderStart(event) {
  if (!event.target.matches("input[type=range]") || gestureSaved) return;
  state.history.push({...state.values});
  state.future = [];
  gestureSaved = true;
  document.addEventListener("pointerup", () => { gestureSaved = false; }, {once: true});
  document.addEventListener("keyup", () => { gestureSaved = false; }, {once: true});
}

function onSliderInput(event) {
  const input = event.target;
  if (!input.matches("input[type=range]")) return;
  if (!gestureSaved) {  // a change made without pointer or key (a script, a form fill)
    state.history.push({...state.values});
    state.future = [];
  }
  state.values[input.dataset.attr] = parseFloat(input.value);
  showValues();
  refreshButtons();
  requestPreview();
}

// -- preview ---------------------------------------------------------------------------------------

// One request in flight at a time; moves made meanwhile collapse into the next request.
function requestPreview() {
  if (state.inFlight) { state.pending = true; return; }
  renderPreview();
}

async function renderPreview() {
  state.inFlight = true;
  state.pending = false;
  const started = performance.now();
  const faceId = state.faceId;
  try {
    const body = {strengths: strengths(), max_side: PREVIEW_SIDE, format: "jpeg",
                  glasses_tint: glassesTint()};
    const response = await api(`/v1/faces/${faceId}/render`, body);
    const blob = await response.blob();
    if (faceId !== state.faceId) return;  // a new photo came meanwhile: this edit is stale
    if (state.editedUrl) URL.revokeObjectURL(state.editedUrl);
    state.editedUrl = URL.createObjectURL(blob);
    state.showBefore = false;
    await showImage(state.editedUrl);
    const ms = Math.round(performance.now() - started);
    const expected = JSON.parse(response.headers.get("X-Facedit-Expected") || "{}");
    const notes = Object.entries(strengths())
      .filter(([n, v]) => n in expected && Math.abs(expected[n] - v) > (n === "age" ? 2 : 0.05))
      .map(([n]) => `${n} reaches ${format(n, expected[n])}`);
    setStatus(`preview ${ms} ms` + (notes.length ? ` · out of reach: ${notes.join(", ")}` : ""));
    $("preview").dataset.latency = ms;
    $("preview").dataset.renders = (parseInt($("preview").dataset.renders || "0") + 1).toString();
  } catch (error) {
    setStatus(error.message, true);
  } finally {
    state.inFlight = false;
    refreshButtons();
    if (state.pending) requestPreview();
  }
}

function showImage(url) {
  return new Promise((resolve) => {
    const img = $("preview");
    img.onload = () => resolve();
    img.onerror = () => resolve();
    img.src = url;
    $("badge").textContent = state.showBefore ? "before" : "after";
    $("toggle").classList.toggle("on", state.showBefore);
    $("toggle").textContent = state.showBefore ? "After" : "Before";
  });
}

// -- upload ----------------------------------------------------------------------------------------

async function upload(file) {
  if (!file) return;
  setStatus(`uploading ${file.name} ...`);
  const form = new FormData();
  form.append("file", file, file.name);
  const started = performance.now();
  const response = await fetch("/v1/faces", {method: "POST", body: form});
  if (!response.ok) { setStatus(await errorText(response), true); return; }
  const info = await response.json();
  Object.assign(state, {faceId: info.face_id, name: file.name, readings: info.readings,
                        values: {...info.readings}, history: [], future: [], showBefore: false});
  const original = await fetch(`/v1/faces/${info.face_id}/original?max_side=${PREVIEW_SIDE}`);
  if (!original.ok) { setStatus(await errorText(original), true); return; }
  if (state.originalUrl) URL.revokeObjectURL(state.originalUrl);
  state.originalUrl = URL.createObjectURL(await original.blob());
  state.editedUrl = null;
  $("view").hidden = false;
  await showImage(state.originalUrl);
  for (const input of sliders()) input.disabled = !(input.dataset.attr in info.readings);
  $("trans-name").disabled = false;
  showValues();
  refreshButtons();
  setStatus(`${file.name}: ${info.width}x${info.height}, face encoded in ` +
            `${Math.round(performance.now() - started)} ms; sliders start at the judge's reading`);
  document.body.dataset.faceId = info.face_id;
}

function setupUpload() {
  $("file").addEventListener("change", (e) => upload(e.target.files[0]));
  const drop = $("drop");
  for (const type of ["dragenter", "dragover"]) {
    drop.addEventListener(type, (e) => { e.preventDefault(); drop.classList.add("over"); });
  }
  for (const type of ["dragleave", "drop"]) {
    drop.addEventListener(type, (e) => { e.preventDefault(); drop.classList.remove("over"); });
  }
  drop.addEventListener("drop", (e) => upload(e.dataTransfer.files[0]));
}

// -- buttons ---------------------------------------------------------------------------------------

function refreshButtons() {
  const loaded = state.faceId !== null;
  const edited = loaded && Object.keys(strengths()).length > 0;
  $("toggle").disabled = !loaded;
  $("reset").disabled = !edited;
  $("undo").disabled = !state.history.length;
  $("redo").disabled = !state.future.length;
  $("save-image").disabled = !loaded;
  $("export-gif").disabled = !edited;
  $("export-grid").disabled = !edited;
  $("save-trans").disabled = !edited || !$("trans-name").value.trim();
}

function restore(values) {
  state.values = {...values};
  showValues();
  refreshButtons();
  requestPreview();
}

async function toggleBefore() {
  state.showBefore = !state.showBefore;
  await showImage(state.showBefore ? state.originalUrl : (state.editedUrl || state.originalUrl));
}

async function saveImage() {
  try {
    setStatus("rendering the full-size image ...");
    const response = await api(`/v1/faces/${state.faceId}/render`,
                               {strengths: strengths(), format: "png",
                                glasses_tint: glassesTint()});
    download(await response.blob(), `${stem()}_edited.png`);
    setStatus(`saved ${stem()}_edited.png`);
  } catch (error) { setStatus(error.message, true); }
}

async function exportFrames(format) {
  try {
    setStatus(`rendering the ${format} ...`);
    const response = await api(`/v1/faces/${state.faceId}/sweep`,
                               {strengths: strengths(), format, frames: 8, view: "photo",
                                glasses_tint: glassesTint()});
    const name = `${stem()}_edit.${format === "gif" ? "gif" : "png"}`;
    download(await response.blob(), name);
    setStatus(`saved ${name}`);
  } catch (error) { setStatus(error.message, true); }
}

async function saveTranslation() {
  const name = $("trans-name").value.trim();
  try {
    const response = await api("/v1/translations",
                               {name, face_id: state.faceId, strengths: strengths()});
    const saved = await response.json();
    setStatus(`saved translation ${saved.name} (${saved.kind}, norm ${saved.norm}); ` +
              "the batch pipeline now uses it");
  } catch (error) { setStatus(error.message, true); }
}

function setupButtons() {
  $("toggle").addEventListener("click", toggleBefore);
  $("lenses").addEventListener("change", () => {
    if (state.faceId && "eyeglasses" in strengths()) requestPreview();
  });
  $("reset").addEventListener("click", () => {
    state.history.push({...state.values});
    state.future = [];
    restore(state.readings);
  });
  $("undo").addEventListener("click", () => {
    if (!state.history.length) return;
    state.future.push({...state.values});
    restore(state.history.pop());
  });
  $("redo").addEventListener("click", () => {
    if (!state.future.length) return;
    state.history.push({...state.values});
    restore(state.future.pop());
  });
  $("save-image").addEventListener("click", saveImage);
  $("export-gif").addEventListener("click", () => exportFrames("gif"));
  $("export-grid").addEventListener("click", () => exportFrames("grid"));
  $("save-trans").addEventListener("click", saveTranslation);
  $("trans-name").addEventListener("input", refreshButtons);
  document.addEventListener("keydown", (e) => {
    if (e.target.matches("input[type=text], input:not([type])") || !state.faceId) return;
    if (e.key === "b") toggleBefore();
    else if ((e.ctrlKey || e.metaKey) && e.key === "z") $("undo").click();
    else if ((e.ctrlKey || e.metaKey) && e.key === "y") $("redo").click();
  });
}

buildSliders().then(() => { setupUpload(); setupButtons(); document.body.dataset.ready = "1"; });
