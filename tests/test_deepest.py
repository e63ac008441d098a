"""The second source's kit: its VAE checkpoint, CelebA-HQ pickles and attribute vectors, made here
in the kit's exact formats with small random weights, and read through facedit."""
import json
import pickle

import cv2
import numpy as np
import pytest
import torch
from click.testing import CliRunner
from torch import nn

from facedit.cli import main
from facedit.data.dataset import PreparedSet
from facedit.data.pickles import import_pickles
from facedit.data.sources import CELEBA_ATTRIBUTES
from facedit.errors import ConfigError, ShapeError, WeightsError
from facedit.models.backend import load_backend
from facedit.models.deepest import DeepestConfig, DeepestVAE, load_deepest_vae

NGF = NDF = 16
LATENT = 32


class KitVAE(nn.Module):
    """The kit's VAE as its own source writes it (one module per layer, up1/pd1... included),
    written here independently of facedit.models.deepest as the reference."""

    def __init__(self, nc=3, ngf=128, ndf=128, latent_variable_size=500):
        super().__init__()
        self.nc, self.ngf, self.ndf = nc, ngf, ndf
        self.e1, self.bn1 = nn.Conv2d(nc, ndf, 4, 2, 1), nn.BatchNorm2d(ndf)
        self.e2, self.bn2 = nn.Conv2d(ndf, ndf * 2, 4, 2, 1), nn.BatchNorm2d(ndf * 2)
        self.e3, self.bn3 = nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1), nn.BatchNorm2d(ndf * 4)
        self.e4, self.bn4 = nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1), nn.BatchNorm2d(ndf * 8)
        self.e5, self.bn5 = nn.Conv2d(ndf * 8, ndf * 8, 4, 2, 1), nn.BatchNorm2d(ndf * 8)
        self.fc1 = nn.Linear(ndf * 8 * 4 * 4, latent_variable_size)
        self.fc2 = nn.Linear(ndf * 8 * 4 * 4, latent_variable_size)
        self.d1 = nn.Linear(latent_variable_size, ngf * 8 * 2 * 4 * 4)
        self.up1, self.pd1 = nn.UpsamplingNearest2d(scale_factor=2), nn.ReplicationPad2d(1)
        self.d2, self.bn6 = nn.Conv2d(ngf * 8 * 2, ngf * 8, 3, 1), nn.BatchNorm2d(ngf * 8, 1.e-3)
        self.up2, self.pd2 = nn.UpsamplingNearest2d(scale_factor=2), nn.ReplicationPad2d(1)
        self.d3, self.bn7 = nn.Conv2d(ngf * 8, ngf * 4, 3, 1), nn.BatchNorm2d(ngf * 4, 1.e-3)
        self.up3, self.pd3 = nn.UpsamplingNearest2d(scale_factor=2), nn.ReplicationPad2d(1)
        self.d4, self.bn8 = nn.Conv2d(ngf * 4, ngf * 2, 3, 1), nn.BatchNorm2d(ngf * 2, 1.e-3)
        self.up4, self.pd4 = nn.UpsamplingNearest2d(scale_factor=2), nn.ReplicationPad2d(1)
        self.d5, self.bn9 = nn.Conv2d(ngf * 2, ngf, 3, 1), nn.BatchNorm2d(ngf, 1.e-3)
        self.up5, self.pd5 = nn.UpsamplingNearest2d(scale_factor=2), nn.ReplicationPad2d(1)
        self.d6 = nn.Conv2d(ngf, nc, 3, 1)
        self.leakyrelu, self.relu, self.sigmoid = nn.LeakyReLU(0.2), nn.ReLU(), nn.Sigmoid()

    def encode(self, x):
        h1 = self.leakyrelu(self.bn1(self.e1(x)))
        h2 = self.leakyrelu(self.bn2(self.e2(h1)))
        h3 = self.leakyrelu(self.bn3(self.e3(h2)))
        h4 = self.leakyrelu(self.bn4(self.e4(h3)))
        h5 = self.leakyrelu(self.bn5(self.e5(h4)))
        h5 = h5.view(-1, self.ndf * 8 * 4 * 4)
        return self.fc1(h5), self.fc2(h5)

    def decode(self, z):
        h1 = self.relu(self.d1(z)).view(-1, self.ngf * 8 * 2, 4, 4)
        h2 = self.leakyrelu(self.bn6(self.d2(self.pd1(self.up1(h1)))))
        h3 = self.leakyrelu(self.bn7(self.d3(self.pd2(self.up2(h2)))))
        h4 = self.leakyrelu(self.bn8(self.d4(self.pd3(self.up3(h3)))))
        h5 = self.leakyrelu(self.bn9(self.d5(self.pd4(self.up4(h4)))))
        return self.sigmoid(self.d6(self.pd5(self.up5(h5))))


def _kit_model(seed=0, nc=3, ngf=NGF, ndf=NDF, latent=LATENT) -> KitVAE:
    torch.manual_seed(seed)
    model = KitVAE(nc, ngf, ndf, latent)
    with torch.no_grad():  # trained-looking batch-norm statistics, so eval mode matters
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
                m.num_batches_tracked.fill_(1234)
    return model.eval()


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    """(checkpoint path, reference model, hq_attr.pkl path, the attribute vectors (40, 32))."""
    folder = tmp_path_factory.mktemp("kit")
    model = _kit_model()
    torch.save(model.state_dict(), folder / "vae.pt")  # as the kit saves it
    vectors = np.random.default_rng(1).normal(0, 1, (40, LATENT)).astype(np.float32)
    with open(folder / "hq_attr.pkl", "wb") as fh:
        pickle.dump(vectors, fh)
    return folder / "vae.pt", model, folder / "hq_attr.pkl", vectors


def _state(kit):
    return torch.load(kit[0], weights_only=True)


# -- the checkpoint -------------------------------------------------------------------------------

def test_kit_checkpoint_loads_with_its_layout_inferred(kit):
    backend = load_backend(f"deepest-vae:{kit[0]}")
    assert backend.model.config == DeepestConfig(nc=3, ngf=NGF, ndf=NDF, latent=LATENT)
    assert (backend.size, backend.latent_dim) == (128, LATENT)


def test_encode_decode_equal_the_reference_implementation(kit):
    path, reference, _, _ = kit
    backend = load_backend(f"deepest-vae:{path}")
    crops = np.random.default_rng(0).integers(0, 256, (3, 128, 128, 3), dtype=np.uint8)
    x = (torch.from_numpy(crops).permute(0, 3, 1, 2).float() / 255.0).contiguous()
    with torch.no_grad():
        mu, _ = reference.encode(x)
        images = reference.decode(mu).permute(0, 2, 3, 1).numpy() * 255.0
    z = backend.encode(crops)
    np.testing.assert_allclose(z, mu.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(backend.decode(z), images, atol=1e-3)
    assert np.std(z, axis=0).mean() > 1e-3  # the codes depend on the image


def test_layout_is_read_from_shapes_not_assumed(tmp_path):
    model = _kit_model(seed=3, nc=3, ngf=8, ndf=12, latent=24)
    torch.save(model.state_dict(), tmp_path / "other.pth")
    loaded = load_deepest_vae(tmp_path / "other.pth")
    assert loaded.config == DeepestConfig(nc=3, ngf=8, ndf=12, latent=24)
    x = torch.rand(1, 3, 128, 128)
    with torch.no_grad():
        torch.testing.assert_close(loaded.encode(x)[0], model.encode(x)[0])


def test_facedit_baseline_export_format_loads(tmp_path):
    """`facedit train baseline --export` writes torch.save(DeepestVAE.state_dict())."""
    model = DeepestVAE(DeepestConfig(ngf=NGF, ndf=NDF, latent=LATENT)).eval()
    torch.save(model.state_dict(), tmp_path / "kit_vae.pt")
    loaded = load_deepest_vae(tmp_path / "kit_vae.pt")
    z = torch.randn(2, LATENT)
    with torch.no_grad():
        torch.testing.assert_close(loaded.decode(z), model.decode(z))


@pytest.mark.parametrize("change, name, words", [
    ("drop", "bn3.running_var", "missing tensor"),
    ("drop", "e1.weight", "missing tensor"),
    ("drop", "d6.bias", "missing tensor"),
    ("add", "e6.weight", "unexpected tensor"),
    ("reshape", "d4.weight", "has shape"),
    ("reshape", "fc2.bias", "has shape"),
])
def test_missing_extra_or_misshapen_tensor_is_refused_by_name(kit, tmp_path, change, name,
                                                             words):
    state = _state(kit)
    if change == "drop":
        del state[name]
    elif change == "add":
        state[name] = torch.zeros(4, 4)
    else:
        state[name] = torch.zeros(*state[name].shape[:-1], state[name].shape[-1] + 1)
    torch.save(state, tmp_path / "bad.pt")
    with pytest.raises(WeightsError, match=words) as caught:
        load_deepest_vae(tmp_path / "bad.pt")
    assert f"'{name}'" in str(caught.value)


def test_dataparallel_names_and_pre_041_files_load(kit, tmp_path):
    state = _state(kit)
    torch.save({f"module.{k}": v for k, v in state.items()
                if not k.endswith("num_batches_tracked")}, tmp_path / "dp.pt")
    z = torch.randn(1, LATENT)
    with torch.no_grad():
        torch.testing.assert_close(load_deepest_vae(tmp_path / "dp.pt").decode(z),
                                   kit[1].decode(z))


def test_non_state_dict_and_code_in_a_checkpoint_are_refused(kit, tmp_path):
    torch.save(kit[1], tmp_path / "whole_model.pt")  # a pickled module: code, not weights
    with pytest.raises(WeightsError, match="not a loadable torch state_dict"):
        load_deepest_vae(tmp_path / "whole_model.pt")
    torch.save([1, 2], tmp_path / "list.pt")
    with pytest.raises(WeightsError, match="expected a state_dict"):
        load_deepest_vae(tmp_path / "list.pt")
    with pytest.raises(WeightsError, match="no such checkpoint"):
        load_deepest_vae(tmp_path / "absent.pt")
    with pytest.raises(ConfigError, match="needs a checkpoint"):
        load_backend("deepest-vae")


def test_a_folder_with_one_checkpoint_is_a_model_folder(kit, tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "vae.pt").write_bytes(kit[0].read_bytes())
    assert load_backend(f"deepest-vae:{tmp_path / 'model'}").latent_dim == LATENT
    (tmp_path / "model" / "other.pt").write_bytes(kit[0].read_bytes())
    with pytest.raises(WeightsError, match="expected one checkpoint"):
        load_backend(f"deepest-vae:{tmp_path / 'model'}")


# -- the CelebA-HQ pickles -------------------------------------------------------------------------

def _write_hq(path, n, seed, protocol=2):
    rng = np.random.default_rng(seed)
    images = [rng.integers(0, 256, (128, 128, 3), dtype=np.uint8) for _ in range(n)]
    attrs = [list(rng.choice([-1, 1], 40)) for _ in range(n)]
    with open(path, "wb") as fh:
        pickle.dump({"img": images, "attr": attrs}, fh, protocol=protocol)
    return np.stack(images), np.array(attrs)


def test_kit_pickles_import_as_a_labelled_prepared_set(tmp_path):
    train_images, train_attrs = _write_hq(tmp_path / "hq_train.pkl", 5, 0)
    val_images, val_attrs = _write_hq(tmp_path / "hq_validation.pkl", 3, 1, protocol=4)
    result = CliRunner().invoke(main, ["data", "prepare", "--from-pickle",
                                       str(tmp_path / "hq_train.pkl"), "--from-pickle",
                                       str(tmp_path / "hq_validation.pkl"), "--cache",
                                       str(tmp_path / "set")])
    assert result.exit_code == 0, result.output
    train = PreparedSet.load(tmp_path / "set", "train", in_memory=True)
    val = PreparedSet.load(tmp_path / "set", "val", in_memory=True)
    np.testing.assert_array_equal(train.images, train_images)
    np.testing.assert_array_equal(train.attrs, train_attrs)
    np.testing.assert_array_equal(val.images, val_images)
    np.testing.assert_array_equal(val.attrs, val_attrs)
    assert len(PreparedSet.load(tmp_path / "set", "test")) == 0
    assert set(train.source) == {"celeba_hq_kit"} and (train.age == -1).all()
    summary = PreparedSet.summary(tmp_path / "set")
    assert summary["by_source"]["celeba_hq_kit"] == {"records": 8, "kept": 8, "train": 5,
                                                     "val": 3, "test": 0}
    # Re-importing replaces the import; a set prepared from the shared data is never overwritten.
    assert import_pickles([tmp_path / "hq_train.pkl"], tmp_path / "set")["records"] == 5
    (tmp_path / "own").mkdir()
    (tmp_path / "own" / "summary.json").write_text(json.dumps({"size": 128}))
    with pytest.raises(ConfigError, match="made from the shared data"):
        import_pickles([tmp_path / "hq_train.pkl"], tmp_path / "own")


@pytest.mark.parametrize("option", [["--size", "256"], ["--limit", "3"]])
def test_options_that_do_not_apply_to_the_pickles_are_refused(tmp_path, option):
    _write_hq(tmp_path / "hq_train.pkl", 2, 0)
    result = CliRunner().invoke(main, ["data", "prepare", "--from-pickle",
                                       str(tmp_path / "hq_train.pkl"), "--cache",
                                       str(tmp_path / "set"), *option])
    assert result.exit_code == 2 and "do not apply" in result.output
    assert not (tmp_path / "set").exists()


@pytest.mark.parametrize("payload, message", [
    ({"img": [np.zeros((64, 64, 3), np.uint8)], "attr": [[1] * 40]}, "128, 128, 3"),
    ({"img": [np.zeros((128, 128, 3), np.float32)], "attr": [[1] * 40]}, "uint8"),
    ({"img": [np.zeros((128, 128, 3), np.uint8)], "attr": [[1] * 39]}, r"\(1, 40\)"),
    ({"img": [np.zeros((128, 128, 3), np.uint8)], "attr": [[0] * 40]}, "only -1 and"),
    ({"images": []}, "'img' and 'attr'"),
    ([1, 2, 3], "'img' and 'attr'"),
])
def test_malformed_kit_pickles_are_clear_errors(tmp_path, payload, message):
    with open(tmp_path / "hq_train.pkl", "wb") as fh:
        pickle.dump(payload, fh)
    with pytest.raises((ShapeError, ConfigError), match=message):
        import_pickles([tmp_path / "hq_train.pkl"], tmp_path / "set")
    assert not (tmp_path / "set" / "summary.json").exists()


def test_a_pickle_without_a_split_in_its_name_is_refused(tmp_path):
    _write_hq(tmp_path / "faces.pkl", 1, 0)
    with pytest.raises(ConfigError, match="cannot tell its split"):
        import_pickles([tmp_path / "faces.pkl"], tmp_path / "set")


# -- the attribute vectors and editing -------------------------------------------------------------

def test_attribute_vectors_import_as_the_kits_raw_steps(kit, tmp_path, monkeypatch):
    from facedit.edit import Editor

    monkeypatch.setenv("FACEDIT_HOME", str(tmp_path / "home"))
    path, _, attr_file, vectors = kit
    spec = f"deepest-vae:{path}"
    result = CliRunner().invoke(main, ["directions", "import", str(attr_file), "--model", spec])
    assert result.exit_code == 0, result.output
    assert "40 directions" in result.output
    editor = Editor.load(spec)
    assert editor.directions.names == [a.lower() for a in CELEBA_ATTRIBUTES]
    mu = np.random.default_rng(2).normal(0, 1, LATENT).astype(np.float32)
    smiling = CELEBA_ATTRIBUTES.index("Smiling")
    np.testing.assert_allclose(editor.shift(mu, {"smiling": 2.5}), mu + 2.5 * vectors[smiling],
                               atol=1e-5)
    assert editor.directions.meta["eyeglasses"]["regions"] == ["eye_band"]


def test_attribute_vectors_of_the_wrong_size_are_refused(kit, tmp_path, monkeypatch):
    monkeypatch.setenv("FACEDIT_HOME", str(tmp_path / "home"))
    with open(tmp_path / "hq_attr.pkl", "wb") as fh:
        pickle.dump(np.zeros((40, 500), np.float32), fh)
    result = CliRunner().invoke(main, ["directions", "import", str(tmp_path / "hq_attr.pkl"),
                                       "--model", f"deepest-vae:{kit[0]}"])
    assert result.exit_code == 2 and "(40, 32)" in result.output


def test_directions_learn_works_on_the_kit_models_latents(kit, tmp_path, monkeypatch):
    """`facedit directions learn --model deepest-vae:PATH` on a (tiny, synthetic) prepared set."""
    from facedit.data.prepare import MESH_POINTS
    from facedit.directions import load_model_directions

    monkeypatch.setenv("FACEDIT_HOME", str(tmp_path / "home"))
    rng = np.random.default_rng(4)
    n_celeba, n_utk = 40, 20
    n = n_celeba + n_utk
    cache = tmp_path / "prepared"
    cache.mkdir()
    np.save(cache / "images.npy", rng.integers(0, 256, (n, 128, 128, 3), dtype=np.uint8))
    np.save(cache / "mesh.npy", np.zeros((n, MESH_POINTS, 2), np.float16))
    attrs = rng.choice([-1, 1], (n, 40)).astype(np.int8)
    attrs[0], attrs[1], attrs[n_celeba:] = 1, -1, 0
    age = np.concatenate([np.full(n_celeba, -1.0), np.linspace(5, 80, n_utk)]).astype(np.float32)
    np.savez(cache / "labels.npz", attrs=attrs, age=age, gender=np.full(n, -1, np.int8),
             race=np.full(n, -1, np.int8), split=np.zeros(n, np.int8),
             source=np.array(["celeba_aligned"] * n_celeba + ["utkface"] * n_utk),
             name=np.array([f"{i}.jpg" for i in range(n)]))
    (cache / "summary.json").write_text(json.dumps({"size": 128}))
    spec = f"deepest-vae:{kit[0]}"
    result = CliRunner().invoke(main, ["directions", "learn", "--data", str(cache),
                                       "--model", spec])
    assert result.exit_code == 0, result.output
    ds = load_model_directions(spec)
    assert ds.dim == LATENT and "smiling" in ds and "age" in ds


def _reference_kit_frames(kit, crop256, factors):
    """The kit's manipulate_attr on facedit's aligned crop, with the reference model."""
    _, reference, _, vectors = kit
    small = cv2.resize(crop256, (128, 128), interpolation=cv2.INTER_AREA)
    x = (torch.from_numpy(small[None]).permute(0, 3, 1, 2).float() / 255.0).contiguous()
    attr = torch.from_numpy(vectors[CELEBA_ATTRIBUTES.index("Smiling")])
    with torch.no_grad():
        mu = reference.encode(x)[0][0]
        frames = reference.decode(torch.stack([mu + float(f) * attr for f in factors]))
    return np.clip(np.rint(frames.permute(0, 2, 3, 1).numpy() * 255), 0, 255).astype(np.uint8)


@pytest.fixture
def kit_cli(kit, tmp_path, monkeypatch, astronaut):
    """(runner, model spec, astronaut photo file) with the kit's vectors imported as the tiny
    kit model's directions."""
    from facedit.io import save_image

    monkeypatch.setenv("FACEDIT_HOME", str(tmp_path / "home"))
    path, _, attr_file, _ = kit
    spec = f"deepest-vae:{path}"
    runner = CliRunner()
    assert runner.invoke(main, ["directions", "import", str(attr_file), "--model",
                                spec]).exit_code == 0
    return runner, spec, save_image(tmp_path / "astronaut.png", astronaut)


def test_smile_deepest_preset_end_to_end_on_the_astronaut(kit, kit_cli, tmp_path, astronaut,
                                                          astronaut_aligned):
    import imageio.v3 as iio

    from facedit.io import load_image

    runner, spec, photo = kit_cli
    # Blending off, face crops: the kit's own 10 whole-face frames, f over (0, 5).
    result = runner.invoke(main, [
        "smile", str(photo), "--model", spec, "--preset", "deepest", "--blend", "none",
        "--crops", "--gif", str(tmp_path / "kit.gif"), "--grid", str(tmp_path / "kit.png"),
        "-o", str(tmp_path / "kit_photo.png")])
    assert result.exit_code == 0, result.output
    assert "smiling f = +0.00 .. +5.00 (the kit's manipulate_attr), 10 frames" in result.output
    gif = iio.imread(tmp_path / "kit.gif", index=None)
    assert gif.shape[0] == 18 and gif.shape[1:3] == (128, 128)  # 10 frames, forth and back
    expected = _reference_kit_frames(kit, astronaut_aligned.crop, np.linspace(0, 5, 10))
    assert np.abs(gif[:10, :, :, :3].astype(float) - expected).mean() < 4  # GIF palette
    assert load_image(tmp_path / "kit.png").shape[1] >= 10 * 128
    edited = load_image(tmp_path / "kit_photo.png")
    assert edited.shape == astronaut.shape and (edited != astronaut).any()
    # Blending on (the default): facedit's residual transfer, in the whole photo.
    result = runner.invoke(main, [
        "smile", str(photo), "--model", spec, "--preset", "deepest",
        "--gif", str(tmp_path / "blend.gif"), "--grid", str(tmp_path / "blend.png"),
        "-o", str(tmp_path / "blend_photo.png")])
    assert result.exit_code == 0, result.output
    assert iio.imread(tmp_path / "blend.gif", index=None).shape[1:3] == (512, 512)
    blended = load_image(tmp_path / "blend_photo.png")
    far = np.zeros(astronaut.shape[:2], bool)
    far[400:, :] = True  # the body and background below the face stay exactly as they were
    assert (blended[far] == astronaut[far]).all()


def test_kit_frames_equal_the_reference(kit, tmp_path, monkeypatch, astronaut):
    """`--blend none` reproduces the kit's whole-face output to the rounding of each pixel."""
    from facedit.edit import Editor
    from facedit.models.deepest import read_attribute_vectors
    from facedit.presets import attribute_sweep, kit_factors, mirror_sweep

    monkeypatch.setenv("FACEDIT_HOME", str(tmp_path / "home"))
    path, reference, attr_file, _ = kit
    backend = load_backend(f"deepest-vae:{path}")
    editor = Editor(backend, read_attribute_vectors(attr_file, LATENT), judge=None)
    faces = editor.encode(astronaut)
    sweep = attribute_sweep(editor, faces, "smile", "deepest", "none")
    expected = _reference_kit_frames(kit, faces[0].aligned.crop, kit_factors("smiling"))
    assert len(sweep.whole[0]) == 10
    assert np.abs(np.stack(sweep.whole[0]).astype(int) - expected).max() <= 1
    assert sweep.crops[0][0].shape == (256, 256, 3)
    glasses = attribute_sweep(editor, faces, "glasses", "deepest", "none", remove=True)
    assert "eyeglasses f = +1.00 .. -2.00" in glasses.lines[0]
    mirror = mirror_sweep(editor, faces, "deepest", "none")
    flipped = np.ascontiguousarray(faces[0].small[:, ::-1])
    with torch.no_grad():
        x = torch.from_numpy(np.stack([faces[0].small, flipped])).permute(0, 3, 1, 2) / 255.0
        mu = reference.encode(x.float().contiguous())[0]
        t = torch.linspace(0, 1, 10)[:, None]
        frames = reference.decode((1 - t) * mu[0] + t * mu[1]).permute(0, 2, 3, 1) * 255
    expected = np.clip(np.rint(frames.numpy()), 0, 255)
    assert np.abs(np.stack(mirror.whole[0]).astype(int) - expected).max() <= 1


@pytest.mark.parametrize("args", [["glasses", "--preset", "deepest"],
                                  ["mirror", "--preset", "deepest"],
                                  ["mirror", "--blend", "none", "--crops"]])
def test_glasses_and_mirror_deepest_preset_run_from_the_cli(kit_cli, tmp_path, args):
    runner, spec, photo = kit_cli
    result = runner.invoke(main, [args[0], str(photo), *args[1:], "--model", spec,
                                  "--frames", "3", "--grid", str(tmp_path / "g.png"),
                                  "-o", str(tmp_path / "o.png")])
    assert result.exit_code == 0, result.output
    assert "grid:" in result.output


@pytest.mark.parametrize("blend", ["none", "region"])
def test_a_bad_strength_is_refused_with_any_blend(kit_cli, tmp_path, blend):
    runner, spec, photo = kit_cli
    result = runner.invoke(main, ["smile", str(photo), "--strength", "7", "--blend", blend,
                                  "--model", spec, "-o", str(tmp_path / "o.png")])
    assert result.exit_code == 2 and "[0, 1]" in result.output
    assert not (tmp_path / "o.png").exists()


def test_directions_learn_on_the_imported_kit_pickles(kit, tmp_path, monkeypatch):
    """The kit's own data (no landmarks, no ages) teaches the 40 CelebA directions, no age."""
    from facedit.directions import load_model_directions

    monkeypatch.setenv("FACEDIT_HOME", str(tmp_path / "home"))
    _write_hq(tmp_path / "hq_train.pkl", 30, 5)
    import_pickles([tmp_path / "hq_train.pkl"], tmp_path / "kitset")
    spec = f"deepest-vae:{kit[0]}"
    result = CliRunner().invoke(main, ["directions", "learn", "--data", str(tmp_path / "kitset"),
                                       "--model", spec])
    assert result.exit_code == 0, result.output
    ds = load_model_directions(spec)
    assert "smiling" in ds and "age" not in ds and ds.shapes == {}
