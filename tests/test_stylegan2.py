"""StyleGAN2 checkpoints on a CPU: tiny random-weight generators and encoders saved exactly as
anycost-gan and rosinality save theirs, loaded through facedit, rendered deterministically; bad
checkpoints named; W+ translations from .npy files; projection recovers a known W+; an editor
over a tiny checkpoint edits the astronaut end to end."""
from __future__ import annotations

import argparse

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from facedit.cli import main
from facedit.errors import ConfigError, ShapeError, WeightsError
from facedit.eval.metrics import psnr
from facedit.io import save_image
from facedit.models.backend import load_backend
from facedit.models.stylegan2 import (StyleGAN2Config, StyleGAN2Generator, channel_table,
                                      load_generator, save_generator, to_numpy_images,
                                      upfirdn2d)
from facedit.models.stylegan2_encoder import EncoderConfig, ResNetEncoder, load_encoder
from facedit.stylegan_directions import (apply_translation, read_boundaries,
                                         read_npy_translations)
from facedit.stylegan_projection import ProjectionConfig, classifier_features, project

D = 32  # style size of the tiny models
TINY = StyleGAN2Config(size=64, style_dim=D, n_mlp=2, channels=(16, 16, 16, 8, 8))


pytestmark = pytest.mark.usefixtures("one_thread")


def tiny_generator(config: StyleGAN2Config = TINY, seed: int = 0) -> StyleGAN2Generator:
    """Random weights as the originals initialise them, with non-zero noise strengths and
    biases so every tensor matters."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        g = StyleGAN2Generator(config)
        with torch.no_grad():
            for name, p in g.named_parameters():
                if name.endswith("noise.weight") or name.endswith("activate.bias"):
                    p.normal_(0, 0.1)
    return g.eval()


def anycost_layout(size: int, channels, style_dim: int, n_mlp: int) -> dict[str, tuple]:
    """The tensor names and shapes of anycost-gan's `Generator.state_dict()`, written out from
    its models/anycost_gan.py and models/ops.py (independently of facedit's module tree)."""
    out = {}
    for i in range(1, n_mlp + 1):
        out[f"style.{i}.weight"], out[f"style.{i}.bias"] = (style_dim, style_dim), (style_dim,)
    c4 = channels[0]
    out["input.input"] = (1, c4, 4, 4)

    def styled(prefix, c_in, c_out, up):
        out[f"{prefix}.conv.weight"] = (1, c_out, c_in, 3, 3)
        out[f"{prefix}.conv.modulation.weight"] = (c_in, style_dim)
        out[f"{prefix}.conv.modulation.bias"] = (c_in,)
        if up:
            out[f"{prefix}.conv.blur.kernel"] = (4, 4)
        out[f"{prefix}.noise.weight"] = (1,)
        out[f"{prefix}.activate.bias"] = (c_out,)

    def to_rgb(prefix, c_in, up):
        if up:
            out[f"{prefix}.upsample.kernel"] = (4, 4)
        out[f"{prefix}.conv.weight"] = (1, 3, c_in, 1, 1)
        out[f"{prefix}.conv.modulation.weight"] = (c_in, style_dim)
        out[f"{prefix}.conv.modulation.bias"] = (c_in,)
        out[f"{prefix}.bias"] = (1, 3, 1, 1)

    styled("conv1", c4, c4, False)
    to_rgb("to_rgb1", c4, False)
    for k, (c_in, c_out) in enumerate(zip(channels[:-1], channels[1:])):
        styled(f"convs.{2 * k}", c_in, c_out, True)
        styled(f"convs.{2 * k + 1}", c_out, c_out, False)
        to_rgb(f"to_rgbs.{k}", c_out, True)
    for j in range(2 * int(np.log2(size)) - 3):
        r = 2 ** ((j + 5) // 2)
        out[f"noises.noise_{j}"] = (1, 1, r, r)
    return out


def test_layout_matches_anycost_and_channel_tables():
    g = tiny_generator()
    assert {k: tuple(v.shape) for k, v in g.state_dict().items()} == \
        anycost_layout(64, TINY.channels, D, 2)
    # FFHQ config-f: 512 up to 64 px, then 256/128/64/32; both projects' tables agree at m=2
    assert channel_table(1024) == (512,) * 5 + (256, 128, 64, 32)
    assert channel_table(1024, layout="rosinality") == channel_table(1024)
    assert channel_table(256, 1, layout="rosinality") == (512,) * 4 + (256, 128, 64)


def _per_sample_weights(conv, x, style):
    """anycost-gan/rosinality's form: one modulated, demodulated weight per sample."""
    b, c_in = x.shape[:2]
    w = conv.scale * conv.weight * conv.modulation(style).view(b, 1, c_in, 1, 1)
    return w * torch.rsqrt(w.pow(2).sum([2, 3, 4], keepdim=True) + 1e-8)


def test_modulated_conv_equals_grouped_per_sample_weights():
    """The batched form (modulate inputs, demodulate outputs) equals the original grouped form,
    for a plain 3x3 layer and for an upsampling one (transposed convolution + blur)."""
    F = torch.nn.functional
    g = tiny_generator()
    x, style = torch.randn(3, 16, 8, 8), torch.randn(3, D)
    b = len(x)
    conv = g.convs[3].conv
    w = _per_sample_weights(conv, x, style)
    ref = F.conv2d(x.reshape(1, -1, 8, 8), w.view(-1, 16, 3, 3), padding=1,
                   groups=b).view(b, -1, 8, 8)
    torch.testing.assert_close(conv(x, style), ref, atol=1e-5, rtol=1e-5)
    up = g.convs[2].conv
    w = _per_sample_weights(up, x, style).transpose(1, 2).reshape(b * 16, -1, 3, 3)
    ref = up.blur(F.conv_transpose2d(x.reshape(1, -1, 8, 8), w, stride=2, groups=b)
                  .view(b, -1, 17, 17))
    assert ref.shape == (3, 16, 16, 16)
    torch.testing.assert_close(up(x, style), ref, atol=1e-5, rtol=1e-5)


def test_upfirdn2d_upsample_preserves_constant():
    kernel = torch.tensor([[1., 3, 3, 1]]).T @ torch.tensor([[1., 3, 3, 1]])
    out = upfirdn2d(torch.ones(1, 2, 8, 8), kernel / kernel.sum() * 4, up=2, pad=(2, 1))
    assert out.shape == (1, 2, 16, 16)
    torch.testing.assert_close(out[..., 2:-2, 2:-2], torch.ones(1, 2, 12, 12))


@pytest.mark.parametrize("fmt", ["anycost", "rosinality", "rosinality-train"])
def test_checkpoints_load_and_render_deterministically(tmp_path, fmt):
    g = tiny_generator()
    path = tmp_path / f"{fmt}.pt"
    if fmt == "rosinality-train":  # what rosinality's train.py writes
        torch.save({"g": g.state_dict(), "d": {"convs.0.0.weight": torch.zeros(1)},
                    "g_ema": g.state_dict(), "g_optim": {}, "d_optim": {},
                    "args": argparse.Namespace(size=64, channel_multiplier=2)}, path)
    else:
        save_generator(g, path, fmt)
    loaded = load_generator(path)
    assert loaded.format == fmt and loaded.generator.config == TINY
    w = g.mapping(torch.randn(2, D, generator=torch.Generator().manual_seed(1)))
    w_plus = w[:, None].repeat(1, TINY.n_latent, 1)
    with torch.no_grad():
        a, b, ref = loaded.generator(w_plus), loaded.generator(w_plus), g(w_plus)
    assert a.shape == (2, 3, 64, 64) and torch.equal(a, b) and torch.equal(a, ref)
    if fmt == "rosinality":
        torch.testing.assert_close(loaded.latent_avg, g.mean_latent())


def test_bad_checkpoints_are_named(tmp_path):
    g = tiny_generator()
    sd = g.state_dict()
    missing = {k: v for k, v in sd.items() if k != "convs.2.conv.blur.kernel"}
    torch.save({"g_ema": missing}, tmp_path / "missing.pt")
    with pytest.raises(WeightsError, match=r"missing tensor 'convs.2.conv.blur.kernel'"):
        load_generator(tmp_path / "missing.pt")
    bad = dict(sd, **{"to_rgbs.1.bias": torch.zeros(1, 4, 1, 1)})
    torch.save({"g_ema": bad}, tmp_path / "bad.pt")
    with pytest.raises(WeightsError, match=r"'to_rgbs.1.bias' has shape \[1, 4, 1, 1\]"):
        load_generator(tmp_path / "bad.pt")
    torch.save({"state_dict": {"x": torch.zeros(1)}}, tmp_path / "other.pt")
    with pytest.raises(WeightsError, match="expected a 'g_ema' entry"):
        load_generator(tmp_path / "other.pt")
    with pytest.raises(WeightsError, match="no such checkpoint"):
        load_generator(tmp_path / "none.pt")


def tiny_encoder(seed: int = 0) -> ResNetEncoder:
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        enc = ResNetEncoder(EncoderConfig(n_style=TINY.n_latent, style_dim=D, width=4,
                                          blocks=(1, 1, 1, 1)))
    return enc.eval()


def test_encoder_checkpoint_layout_and_checks(tmp_path):
    enc = tiny_encoder()
    sd = enc.state_dict()
    # torchvision ResNet names, as anycost-gan's ResNet50Encoder saves them
    assert sd["layer1.0.downsample.0.weight"].shape == (16, 4, 1, 1)
    assert sd["layer4.0.conv3.weight"].shape == (128, 32, 1, 1)
    assert sd["fc.weight"].shape == (TINY.n_latent * D, 128) and sd["mean_latent"].shape == (D,)
    assert "bn1.num_batches_tracked" in sd
    torch.save({"state_dict": sd}, tmp_path / "enc.pt")
    loaded = load_encoder(tmp_path / "enc.pt")
    x = torch.rand(1, 3, 256, 256) * 2 - 1
    with torch.no_grad():
        assert torch.equal(loaded(x), enc(x)) and loaded(x).shape == (1, TINY.n_latent, D)
    torch.save({"state_dict": {k: v for k, v in sd.items() if k != "layer2.0.bn2.weight"}},
               tmp_path / "bad.pt")
    with pytest.raises(WeightsError, match="'layer2.0.bn2.weight'"):
        load_encoder(tmp_path / "bad.pt")
    with pytest.raises(ShapeError, match="256"):
        loaded(torch.zeros(1, 3, 128, 128))
    # the full ResNet-50 of the original builds with the same names
    with torch.device("meta"):
        full = ResNetEncoder().state_dict()
    assert full["fc.weight"].shape == (18 * 512, 2048) and "layer3.5.conv3.weight" in full


@pytest.fixture
def checkpoint(tmp_path):
    path = tmp_path / "tiny.pt"
    save_generator(tiny_generator(), path, "anycost")
    torch.save({"state_dict": tiny_encoder().state_dict()}, tmp_path / "enc.pt")
    return path


def test_backend_spec_and_preview(checkpoint, tmp_path):
    model = load_backend(f"stylegan2:{checkpoint},encoder={tmp_path / 'enc.pt'},eye_y=0.45")
    assert model.size == 64 and model.latent_dim == TINY.n_latent * D
    w = model.w_to_latents(model.sample_w(2))
    out = model.decode(w)
    assert out.shape == (2, 64, 64, 3) and out.dtype == np.float32
    assert np.array_equal(out, model.decode(w))
    codes = model.encode(np.clip(out, 0, 255).astype(np.uint8))
    assert codes.shape == (2, model.latent_dim)
    preview = load_backend(f"stylegan2:{checkpoint},channels=0.5,res=32,size=64")
    assert preview.decode(w).shape == (2, 64, 64, 3)
    with pytest.raises(ConfigError, match="unknown option 'bogus=1'"):
        load_backend(f"stylegan2:{checkpoint},bogus=1")
    with pytest.raises(ConfigError, match="res"):
        load_backend(f"stylegan2:{checkpoint},res=128")


def test_npy_translation_applies_and_zero_reproduces(checkpoint, tmp_path, monkeypatch):
    monkeypatch.setenv("FACEDIT_HOME", str(tmp_path / "home"))
    model = load_backend(f"stylegan2:{checkpoint}")
    folder = tmp_path / "translations_vect"
    folder.mkdir()
    offset = np.random.default_rng(0).normal(0, 0.5, (1, TINY.n_latent, D)).astype(np.float32)
    np.save(folder / "Hc_1.npy", offset)
    np.save(folder / "Be_max.npy", np.zeros((1, TINY.n_latent, D), np.float32))
    table = read_npy_translations(folder, TINY.n_latent, D)
    assert sorted(table) == ["Be_max", "Hc_1"]
    z = model.w_to_latents(model.sample_w(1, seed=3))
    base = model.decode(z)
    moved = model.decode(apply_translation(z, table["Hc_1"]))
    assert np.abs(moved - base).mean() > 1.0
    assert np.array_equal(model.decode(apply_translation(z, table["Be_max"])), base)
    res = CliRunner().invoke(main, ["translation", "import", str(folder), "--set",
                                    f"pipeline.model=stylegan2:{checkpoint}"])
    assert res.exit_code == 0, res.output
    from facedit.translations import user_store

    stored = user_store(f"stylegan2:{checkpoint}").load()
    assert np.array_equal(stored["Hc_1"], table["Hc_1"]) and "Be_max" in stored
    np.save(folder / "Hc_9.npy", offset)
    with pytest.raises(ConfigError, match="Hc_9"):
        read_npy_translations(folder, TINY.n_latent, D)
    (folder / "Hc_9.npy").unlink()
    np.save(folder / "Hc_2.npy", np.zeros((1, 5, D), np.float32))
    with pytest.raises(ShapeError, match="Hc_2.npy"):
        read_npy_translations(folder, TINY.n_latent, D)


def test_projection_recovers_a_known_w_plus():
    """A 32 px generator renders a known W+; projection from the mean W gets the image back."""
    config = StyleGAN2Config(size=32, style_dim=D, n_mlp=2, channels=(16, 16, 8, 8))
    g = tiny_generator(config, seed=1)
    w_mean = g.mean_latent()
    torch.manual_seed(5)
    w_true = (w_mean + 0.7 * (g.mapping(torch.randn(1, D)) - w_mean))[:, None]
    w_true = w_true.repeat(1, config.n_latent, 1) + 0.05 * torch.randn(1, config.n_latent, D)
    with torch.no_grad():
        target = g(w_true)
    start = w_mean.view(1, 1, -1).repeat(1, config.n_latent, 1)
    result = project(g, target, start, ProjectionConfig(steps=100, lr=0.08),
                     classifier_features())
    assert result.losses[0] / min(result.losses) >= 10
    with torch.no_grad():
        rec = g(torch.from_numpy(result.latents))
    assert psnr(to_numpy_images(rec)[0], to_numpy_images(target)[0]) >= 30


def test_projection_in_backend_is_cached(checkpoint, tmp_path, monkeypatch):
    monkeypatch.setenv("FACEDIT_HOME", str(tmp_path / "home"))
    model = load_backend(f"stylegan2:{checkpoint},steps=3,eye_y=0.45")
    crop = np.clip(model.decode(model.w_to_latents(model.sample_w(1, 7))), 0, 255)
    crop = crop.astype(np.uint8)
    first = model.encode(crop)
    files = list((tmp_path / "home").rglob("projections/*.npy"))
    assert len(files) == 1
    assert np.array_equal(model.encode(crop), first)


def test_boundaries_import_and_editor_on_astronaut(checkpoint, tmp_path, monkeypatch, astronaut):
    """anycost-gan's boundary dict -> `facedit directions import-boundaries`; then `facedit
    edit` with the tiny checkpoint runs end to end on the astronaut."""
    monkeypatch.setenv("FACEDIT_HOME", str(tmp_path / "home"))
    rng = np.random.default_rng(0)
    boundaries = {"31_Smiling": rng.normal(size=(1, D)), "15_Eyeglasses": rng.normal(size=(1, D)),
                  "20_Male": rng.normal(size=(1, D))}
    torch.save({k: torch.tensor(v, dtype=torch.float32) for k, v in boundaries.items()},
               tmp_path / "boundaries.pt")
    assert sorted(read_boundaries(tmp_path / "boundaries.pt")) == ["Eyeglasses", "Male",
                                                                   "Smiling"]
    spec = f"stylegan2:{checkpoint},encoder={tmp_path / 'enc.pt'}"
    runner = CliRunner()
    res = runner.invoke(main, ["directions", "import-boundaries", str(tmp_path / "boundaries.pt"),
                               "--model", spec])
    assert res.exit_code == 0, res.output
    photo = tmp_path / "astronaut.png"
    save_image(photo, astronaut)
    out = tmp_path / "edited.png"
    res = runner.invoke(main, ["edit", str(photo), "--smile", "1.5", "--raw", "--model", spec,
                               "-o", str(out)])
    assert res.exit_code == 0, res.output
    from facedit.io import load_image

    edited = load_image(out)
    assert edited.shape == astronaut.shape and not np.array_equal(edited, astronaut)
    save_image(tmp_path / "flipped.png", np.ascontiguousarray(astronaut[:, ::-1]))
    for args in (["smile", str(photo)], ["glasses", str(photo)],
                 ["mirror", str(photo), "--method", "latent", "--frames", "3"],
                 ["interpolate", str(photo), str(tmp_path / "flipped.png"), "--method", "latent",
                  "--frames", "3"]):
        res = runner.invoke(main, [*args, "--model", spec, "-o", str(out)])
        assert res.exit_code == 0, (args, res.output)


@pytest.mark.parametrize("args", [
    ["directions", "import-boundaries", "b.pkl", "--model", "builtin", "-o", "d"],
    ["directions", "learn-generated", "--model", "builtin", "-o", "d"],
    ["translation", "import", "folder"]])
def test_w_space_commands_refuse_other_models_in_one_line(args, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from facedit.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FACEDIT_HOME", str(tmp_path / "home"))
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert "is not a StyleGAN2 model" in result.output and "Traceback" not in result.output


class _LineBackend:
    """A stand-in generator whose rendered crop shows how far W lies along one hidden axis."""
    name, n_latent, style_dim = "line", 4, 6
    axis = np.array([0.6, 0.8, 0, 0, 0, 0])

    def sample_w(self, n, seed, truncation=1.0):
        return np.random.default_rng(seed).normal(size=(n, self.style_dim)).astype(np.float32)

    def w_to_latents(self, w):
        return np.repeat(w[:, None], self.n_latent, 1).reshape(len(w), -1)

    def decode(self, latents):
        w = latents.reshape(len(latents), self.n_latent, self.style_dim)[:, 0]
        return np.broadcast_to((128 + 40 * (w @ self.axis))[:, None, None, None],
                               (len(w), 8, 8, 3)).copy()


class _LineJudge:
    attributes = ["Smiling"]

    def score(self, crops):
        t = (crops[:, 0, 0, 0].astype(np.float64) - 128) / 40
        return 1 / (1 + np.exp(-4 * t))[:, None], 30 + 10 * t


def test_learned_w_directions_step_by_the_class_gap():
    from facedit.stylegan_directions import learn_w_directions

    backend = _LineBackend()
    d = learn_w_directions(backend, _LineJudge(), samples=400, ratio=0.2)
    unit = d["smiling"].reshape(backend.n_latent, backend.style_dim)[0]
    assert abs(unit / np.linalg.norm(unit) @ backend.axis) > 0.95  # the hidden axis, found
    w = backend.sample_w(400, 0)
    s = w @ backend.axis  # the judge's reading is monotone in s: present where s >= 0
    gap = w[s >= 0].mean(axis=0) @ backend.axis - w[s < 0].mean(axis=0) @ backend.axis
    meta = d.meta["smiling"]
    assert meta["scale_from"] == "class gap"
    assert meta["scale"] == pytest.approx(gap * np.sqrt(backend.n_latent), rel=0.1)
    # Step 1 moves each layer's W by the gap between faces with and without the attribute.
    step = d.step("smiling").reshape(backend.n_latent, backend.style_dim)
    assert abs(step[0] @ backend.axis) == pytest.approx(gap, rel=0.1)


class _FaintJudge(_LineJudge):
    """Reads a second attribute that no sampled face reaches (its probability stays under 0.5)."""
    attributes = ["Smiling", "Bald"]

    def score(self, crops):
        p, age = super().score(crops)
        return np.concatenate([p, 0.4 * p], axis=1), age


def test_a_w_direction_without_a_class_gap_steps_by_the_spread_of_codes():
    from facedit.stylegan_directions import learn_w_directions, w_scales

    backend = _LineBackend()
    d = learn_w_directions(backend, _FaintJudge(), samples=400, ratio=0.2)
    assert d.meta["smiling"]["scale_from"] == "class gap"
    meta = d.meta["bald"]
    assert meta["scale_from"] == "std"
    unit = d["bald"].reshape(backend.n_latent, backend.style_dim)[:1]
    assert meta["scale"] == pytest.approx(float(w_scales(backend, unit)[0]), rel=1e-5)
