"""The models' shapes, determinism, and refusal of missing or corrupt weights."""
import json

import pytest
import torch

from facedit.errors import WeightsError
from facedit.models.classifier import AttributeClassifier, ClassifierConfig
from facedit.models.store import load_model, save_model
from facedit.models.vae import FaceVAE, VAEConfig


def test_vae_shapes_and_determinism():
    torch.manual_seed(0)
    model = FaceVAE(VAEConfig()).eval()
    x = torch.rand(3, 3, 128, 128)
    with torch.no_grad():
        mu, logvar = model.encode(x)
        out = model.decode(mu)
        again = model.decode(model.encode(x)[0])
    assert mu.shape == logvar.shape == (3, 512)
    assert out.shape == (3, 3, 128, 128)
    assert 0 <= out.min() and out.max() <= 1
    assert torch.equal(out, again)


def test_classifier_shapes():
    model = AttributeClassifier(ClassifierConfig()).eval()
    with torch.no_grad():
        logits, age = model(torch.rand(2, 3, 128, 128))
        feats = model.features(torch.rand(2, 3, 128, 128))
    assert logits.shape == (2, 40) and age.shape == (2,)
    assert [f.shape[1] for f in feats] == list(ClassifierConfig().channels)


def test_classifier_for_inference_folds_batch_norm_and_reads_the_same():
    torch.manual_seed(0)
    model = AttributeClassifier(ClassifierConfig())
    for bn in (m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)):
        bn.running_mean.uniform_(-0.5, 0.5)  # statistics far from the identity: folding shows
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.data.uniform_(0.5, 1.5)
    model.eval()
    fast = model.for_inference()
    x = torch.rand(3, 3, 128, 128)
    with torch.no_grad():
        (logits, age), (fast_logits, fast_age) = model(x), fast(x)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fast.modules())
    assert torch.allclose(fast_logits, logits, atol=1e-4) and torch.allclose(fast_age, age, atol=1e-3)
    # The original is left as it was: still trainable, its batch norms in place.
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    assert all(p.requires_grad for p in model.parameters())


def _saved(tmp_path):
    model = FaceVAE(VAEConfig(size=32, latent=8, enc_channels=(4, 4, 8), dec_channels=(8, 4),
                              dec_extra=(0, 0)))
    return save_model(tmp_path / "m", model, model.config, {"model": "test"}), model


def test_missing_weights_file_is_a_clear_error(tmp_path):
    folder, _ = _saved(tmp_path)
    (folder / "model.safetensors").unlink()
    with pytest.raises(WeightsError, match="missing"):
        load_model(folder, FaceVAE, VAEConfig)


def test_corrupt_weights_file_is_a_clear_error(tmp_path):
    folder, _ = _saved(tmp_path)
    data = (folder / "model.safetensors").read_bytes()
    (folder / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsError, match="corrupt"):
        load_model(folder, FaceVAE, VAEConfig)


def test_mismatched_architecture_names_the_tensor(tmp_path):
    folder, _ = _saved(tmp_path)
    config = json.loads((folder / "config.json").read_text())
    config["latent"] = 9
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(WeightsError, match="fc_mu.weight"):
        load_model(folder, FaceVAE, VAEConfig)
