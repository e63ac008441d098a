"""Training runs on a tiny generated prepared set: the loss falls, a run resumes, exports load."""
import json

import numpy as np
import pytest
import torch

from facedit.data.sources import CELEBA_ATTRIBUTES, SPLITS
from facedit.errors import ConfigError
from facedit.models import WEIGHTS
from facedit.models.classifier import ClassifierConfig
from facedit.models.store import load_model
from facedit.models.vae import FaceVAE, VAEConfig

TINY_VAE = VAEConfig(size=32, latent=16, enc_channels=(8, 8, 16), dec_channels=(16, 8),
                     dec_extra=(0, 0))
TINY_CLF = ClassifierConfig(input_size=32, channels=(8, 16))


def _blob_faces(n: int, size: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Images of a bright ellipse on a dark ground; attribute 0 = the ellipse is wide."""
    yy, xx = np.mgrid[0:size, 0:size] / size - 0.5
    images, wide = [], []
    for _ in range(n):
        w = rng.choice([rng.uniform(0.15, 0.22), rng.uniform(0.33, 0.4)])
        mask = (xx / w) ** 2 + (yy / 0.3) ** 2 < 1
        colour = rng.uniform(80, 255, 3)
        img = np.where(mask[..., None], colour, 30).astype(np.uint8)
        images.append(img)
        wide.append(w > 0.275)
    return np.stack(images), np.array(wide)


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory):
    root = tmp_path_factory.mktemp("prepared")
    rng = np.random.default_rng(0)
    n = 96
    images, wide = _blob_faces(n, 32, rng)
    np.save(root / "images.npy", images)
    np.save(root / "mesh.npy", np.zeros((n, 478, 2), np.float16))
    attrs = -np.ones((n, 40), np.int8)
    attrs[wide, 0] = 1
    split = np.array([0] * 64 + [1] * 16 + [2] * 16, np.int8)
    np.savez(root / "labels.npz", attrs=attrs, age=np.full(n, -1, np.float32),
             gender=np.full(n, -1, np.int8), race=np.full(n, -1, np.int8), split=split,
             source=np.array(["celeba_aligned"] * n), name=np.array([f"{i}.jpg" for i in range(n)]))
    (root / "summary.json").write_text(json.dumps({"size": 32, "kept": n}))
    assert SPLITS == ("train", "val", "test")
    return root


def _losses(run_dir, key):
    return [json.loads(line)[key] for line in (run_dir / "log.jsonl").read_text().splitlines()
            if key in json.loads(line)]


def test_vae_training_lowers_loss_and_resumes(tiny_set, tmp_path):
    from facedit.train.vae import train_vae

    run = tmp_path / "vae"
    train_vae(tiny_set, run, minutes=10, batch=16, lr=3e-3, max_steps=40, log_every=4,
              config=TINY_VAE)
    l1 = _losses(run, "l1")
    assert np.mean(l1[-3:]) < 0.7 * np.mean(l1[:2])
    assert (run / "state.pt").exists() and list(run.glob("grid_*.png"))
    state = torch.load(run / "state.pt", weights_only=True)
    assert state["step"] == 40
    train_vae(tiny_set, run, minutes=10, batch=16, max_steps=48, log_every=4, config=TINY_VAE)
    assert torch.load(run / "state.pt", weights_only=True)["step"] == 48  # resumed, not restarted


def test_judge_loss_is_zero_on_a_perfect_reconstruction_and_trains_only_the_vae():
    from facedit.models.classifier import AttributeClassifier
    from facedit.train.vae import JudgeLoss

    torch.manual_seed(0)
    classifier = AttributeClassifier(TINY_CLF)
    judge = JudgeLoss(classifier, feature_weight=1.0, attribute_weight=1.0)
    target = torch.rand(4, 3, 32, 32)
    same = judge(target.clone(), target)
    assert same["features"].item() == pytest.approx(0.0, abs=1e-6)
    assert same["attributes"].item() == pytest.approx(0.0, abs=1e-5)
    recon = (target + 0.3 * torch.randn_like(target)).clamp(0, 1).requires_grad_(True)
    terms = judge(recon, target)
    assert terms["features"].item() > 0 and terms["attributes"].item() > 0
    (terms["features"] + terms["attributes"]).backward()
    assert recon.grad is not None and recon.grad.abs().sum() > 0
    assert all(p.grad is None for p in classifier.parameters())  # the judge stays frozen


def test_fixed_pattern_singles_out_a_texture_painted_on_every_face():
    from facedit.train.vae import fixed_pattern

    torch.manual_seed(0)
    target = torch.rand(32, 3, 32, 32)
    assert fixed_pattern(target.clone(), target).item() == pytest.approx(0.0, abs=1e-7)
    grid = torch.zeros(1, 3, 32, 32)
    grid[..., ::4, :] = 0.1  # the same faint stripes on every face
    noise = 0.1 * (torch.rand_like(target) < 0.25)  # as much error, at random places
    assert fixed_pattern(target + grid, target) > 3 * fixed_pattern(target + noise, target)


def test_judge_shift_rolls_both_images_together():
    from facedit.models.classifier import AttributeClassifier
    from facedit.train.vae import JudgeLoss

    torch.manual_seed(0)
    judge = JudgeLoss(AttributeClassifier(TINY_CLF), feature_weight=1.0, attribute_weight=1.0,
                      shift=3)
    target = torch.rand(2, 3, 32, 32)
    for _ in range(5):  # whatever the offset, a perfect reconstruction costs nothing
        assert judge(target.clone(), target)["features"].item() == pytest.approx(0.0, abs=1e-6)
    recon = (target + 0.3 * torch.randn_like(target)).clamp(0, 1)
    seen = {round(judge(recon, target)["features"].item(), 6) for _ in range(12)}
    assert len(seen) > 1  # the classifier sees the pair at different offsets
    judge.shift = 0
    assert len({round(judge(recon, target)["features"].item(), 6) for _ in range(3)}) == 1


def test_vae_fine_tunes_with_the_judge_terms_and_records_them(tiny_set, tmp_path):
    from facedit.models.classifier import AttributeClassifier
    from facedit.train.vae import JudgeLoss, train_vae

    start = FaceVAE(TINY_VAE)
    before = {k: v.clone() for k, v in start.state_dict().items()}
    judge = JudgeLoss(AttributeClassifier(TINY_CLF), feature_weight=0.1, attribute_weight=1.0,
                      shift=2)
    run = tmp_path / "vae_judge"
    train_vae(tiny_set, run, minutes=10, batch=16, max_steps=6, log_every=2, config=TINY_VAE,
              model=start, judge=judge, init="test start", pattern_weight=2.0)
    assert set(_losses(run, "attributes")) and set(_losses(run, "features"))
    assert set(_losses(run, "pattern"))
    options = json.loads((run / "options.json").read_text())
    assert options["attribute_weight"] == 1.0 and options["init"] == "test start"
    assert options["judge"] == "an attribute classifier" and options["judge_shift"] == 2
    assert options["pattern_weight"] == 2.0
    after = start.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)  # the given model trained


def test_decoder_only_adversarial_fine_tune_keeps_the_codes_and_resumes_its_discriminator(
        tiny_set, tmp_path):
    from facedit.train.adversarial import Adversary
    from facedit.train.vae import train_vae

    start = FaceVAE(TINY_VAE)
    before = {k: v.clone() for k, v in start.state_dict().items()}
    adversary = Adversary(weight=0.1)
    d_before = {k: v.clone() for k, v in adversary.discriminator.state_dict().items()}
    run = tmp_path / "vae_adv"
    train_vae(tiny_set, run, minutes=10, batch=16, max_steps=4, log_every=2, config=TINY_VAE,
              model=start, init="test start", adversary=adversary, decoder_only=True)
    after = start.state_dict()
    encoder = [k for k in before if k.startswith(("encoder.", "fc_mu.", "fc_logvar."))]
    decoder = [k for k in before if k.startswith(("decoder.", "fc_dec."))]
    assert encoder and all(torch.equal(before[k], after[k]) for k in encoder)  # BN stats too
    assert any(not torch.equal(before[k], after[k]) for k in decoder)
    d_after = adversary.discriminator.state_dict()
    assert any(not torch.equal(d_before[k], d_after[k]) for k in d_before)
    assert set(_losses(run, "adversarial")) and set(_losses(run, "d_real"))
    options = json.loads((run / "options.json").read_text())
    assert options["adversarial_weight"] == 0.1 and options["decoder_only"] is True
    # Resuming restores the discriminator where it stopped, not a fresh one.
    state = torch.load(run / "state.pt", weights_only=True)
    fresh = Adversary(weight=0.1)
    fresh.load_state_dict(state["adversary"])
    saved = fresh.discriminator.state_dict()
    assert all(torch.equal(saved[k], d_after[k]) for k in d_after)
    train_vae(tiny_set, run, minutes=10, batch=16, max_steps=6, log_every=2, config=TINY_VAE,
              model=start, adversary=fresh, decoder_only=True)
    assert torch.load(run / "state.pt", weights_only=True)["step"] == 6


def test_patch_discriminator_scores_each_patch():
    from facedit.train.adversarial import PatchDiscriminator

    scores = PatchDiscriminator()(torch.rand(2, 3, 64, 64))
    assert scores.shape == (2, 1, 8, 8)


def test_export_of_a_fine_tuned_vae_counts_the_run_it_started_from(tiny_set, tmp_path):
    from facedit.train.export import export_vae
    from facedit.train.vae import train_vae

    first = train_vae(tiny_set, tmp_path / "first", minutes=10, batch=16, max_steps=3,
                      log_every=1, config=TINY_VAE)
    export_vae(first, tiny_set, tmp_path / "first", tmp_path / "first_model")
    base = load_model(tmp_path / "first_model", FaceVAE, VAEConfig)
    tuned = train_vae(tiny_set, tmp_path / "tuned", minutes=10, batch=16, max_steps=2,
                      log_every=1, config=TINY_VAE, model=base,
                      init=str(tmp_path / "first_model"))
    card = export_vae(tuned, tiny_set, tmp_path / "tuned", tmp_path / "tuned_model")
    start = card["training"]["warm_start"]
    first_seconds = torch.load(tmp_path / "first" / "state.pt", weights_only=True)["elapsed"]
    assert start["steps"] == 3 and start["seconds"] == round(float(first_seconds), 1)
    assert card["training"]["steps"] == 2
    assert card["training"]["total_seconds"] == pytest.approx(
        card["training"]["seconds"] + start["seconds"], abs=0.2)
    assert "total_steps" not in start  # the first model started from nothing
    again = train_vae(tiny_set, tmp_path / "again", minutes=10, batch=16, max_steps=1,
                      log_every=1, config=TINY_VAE,
                      model=load_model(tmp_path / "tuned_model", FaceVAE, VAEConfig),
                      init=str(tmp_path / "tuned_model"))
    card = export_vae(again, tiny_set, tmp_path / "again", tmp_path / "again_model")
    assert card["training"]["warm_start"]["steps"] == 2
    assert card["training"]["warm_start"]["total_steps"] == 5  # the tuned run and the first


def test_export_counts_every_run_of_a_chain_of_warm_starts(tiny_set, tmp_path):
    from facedit.train.classifier import train_classifier
    from facedit.train.export import export_classifier

    runs, init = [tmp_path / "a", tmp_path / "b", tmp_path / "c"], None
    for run, steps in zip(runs, (3, 2, 1)):
        model = train_classifier(tiny_set, run, minutes=10, batch=16, max_steps=steps,
                                 log_every=1, config=TINY_CLF, init=init)
        init = run / "state.pt"
    card = export_classifier(model, tiny_set, runs[2], tmp_path / "model")
    seconds = [float(torch.load(r / "state.pt", weights_only=True)["elapsed"]) for r in runs]
    training = card["training"]
    assert training["warm_start"]["steps"] == 2
    assert training["warm_start"]["warm_start"]["steps"] == 3  # the run before that one, too
    assert training["total_seconds"] == pytest.approx(sum(seconds), abs=0.3)


def test_classifier_warm_starts_from_a_model_folder_and_counts_its_training(tiny_set, tmp_path):
    from facedit.train.classifier import initial_weights, train_classifier
    from facedit.train.export import _warm_start, export_classifier

    first = train_classifier(tiny_set, tmp_path / "first", minutes=10, batch=16, max_steps=3,
                             log_every=1, config=TINY_CLF)
    export_classifier(first, tiny_set, tmp_path / "first", tmp_path / "first_model")
    start = initial_weights(str(tmp_path / "first_model"))
    for name, value in first.state_dict().items():  # the folder's weights (fp16 storage)
        assert torch.allclose(start[name].float(), value.float(), atol=1e-2), name
    tuned = train_classifier(tiny_set, tmp_path / "tuned", minutes=10, batch=16, max_steps=2,
                             log_every=1, config=TINY_CLF, init=str(tmp_path / "first_model"))
    card = export_classifier(tuned, tiny_set, tmp_path / "tuned", tmp_path / "tuned_model")
    assert card["training"]["warm_start"]["steps"] == 3
    assert card["training"]["warm_start"]["from"] == str(tmp_path / "first_model")
    shipped = json.loads((WEIGHTS / "classifier" / "model_card.json").read_text())["training"]
    builtin = _warm_start("builtin", "classifier")
    assert builtin["from"] == "the classifier shipped before this one"
    assert builtin["steps"] == shipped["steps"]
    assert _warm_start("builtin")["from"] == "the VAE shipped before this one"


def test_classifier_training_learns_the_attribute(tiny_set, tmp_path):
    from facedit.data.dataset import PreparedSet
    from facedit.train.classifier import evaluate, train_classifier

    model = train_classifier(tiny_set, tmp_path / "clf", minutes=10, batch=16, lr=3e-3,
                             max_steps=100, log_every=5, config=TINY_CLF)
    metrics = evaluate(model, PreparedSet.load(tiny_set, "test", in_memory=True))
    assert metrics["accuracy"][CELEBA_ATTRIBUTES[0]] >= 0.8


def test_export_and_load_round_trip(tiny_set, tmp_path):
    from facedit.train.export import export_vae
    from facedit.train.vae import train_vae

    run = tmp_path / "vae"
    model = train_vae(tiny_set, run, minutes=10, batch=16, max_steps=4, log_every=2,
                      config=TINY_VAE)
    card = export_vae(model, tiny_set, run, tmp_path / "export")
    assert card["metrics"]["reconstruction"]["psnr_db"] > 5
    loaded = load_model(tmp_path / "export", FaceVAE, VAEConfig)
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        a = model.decode(model.encode(x)[0])
        b = loaded.decode(loaded.encode(x)[0])
    assert torch.allclose(a, b, atol=2e-2)  # fp16 storage
    assert json.loads((tmp_path / "export" / "model_card.json").read_text())["licence"]


def test_learn_directions_covers_every_attribute(tiny_set, tmp_path):
    from facedit.models.backend import TorchVAEBackend
    from facedit.train.directions import PCA_COUNT, learn_directions

    labels = dict(np.load(tiny_set / "labels.npz"))
    root = tmp_path / "set"
    root.mkdir()
    for name in ("images.npy", "mesh.npy", "summary.json"):
        (root / name).write_bytes((tiny_set / name).read_bytes())
    rng = np.random.default_rng(1)
    labels["attrs"] = rng.choice([-1, 1], size=labels["attrs"].shape).astype(np.int8)
    labels["attrs"][:, 20] = labels["attrs"][:, 39]  # Male and Young perfectly correlated
    labels["attrs"][:, 31] = np.where(rng.random(96) < 0.85, labels["attrs"][:, 15], 1)
    labels["age"][::3] = rng.uniform(10, 80, len(labels["age"][::3]))  # UTKFace-like rows
    np.savez(root / "labels.npz", **labels)
    torch.manual_seed(0)
    backend = TorchVAEBackend(FaceVAE(TINY_VAE).eval(), 32, TINY_VAE.latent, "tiny")
    ds = learn_directions(backend, root, method="mean")
    assert len(ds.names) == 41 + min(PCA_COUNT, TINY_VAE.latent)
    assert np.allclose(np.linalg.norm(ds.vectors, axis=1), 1.0, atol=1e-5)
    # Smiling mostly follows Eyeglasses in these labels: made orthogonal to its raw direction,
    # unless too little would be left of it.
    assert ds.meta["smiling"]["orthogonal_to"] in ([], ["eyeglasses"])
    # Young cannot be told apart from Male at all: kept, conditioned on nothing (no crash).
    assert ds.meta["young"]["orthogonal_to"] == []
    assert ds.meta["age"]["method"] == "ridge"


class _BrightnessJudge(torch.nn.Module):
    """Logits for 40 attributes: attribute 0 is 'bright' (mean value above 0.5)."""

    def forward(self, images):
        logit = 20 * (images.mean(dim=(1, 2, 3)) - 0.5)
        return torch.stack([logit] * 40, dim=1), torch.zeros(len(images))


def test_arithmetic_vectors_are_mean_differences_over_known_labels():
    from facedit.train.arithmetic import ArithmeticLoss

    codes = np.array([[1.0, 0.0], [3.0, 0.0], [0.0, 2.0], [0.0, 4.0], [9.0, 9.0]])
    attrs = np.zeros((5, 40), np.int8)
    attrs[:, CELEBA_ATTRIBUTES.index("Smiling")] = [1, 1, -1, -1, 0]  # the last one unknown
    loss = ArithmeticLoss(_BrightnessJudge(), weight=0.1, names=("Smiling",)).fit(codes, attrs)
    np.testing.assert_allclose(loss.vectors.numpy(), [[2.0, -3.0]])
    twice = ArithmeticLoss(_BrightnessJudge(), 0.1, ("Smiling", "Smiling")).fit(codes, attrs)
    np.testing.assert_allclose(twice.vectors.numpy(), [[2.0, -3.0]] * 2)  # drawn twice as often
    with pytest.raises(ValueError, match="Smile"):
        ArithmeticLoss(_BrightnessJudge(), weight=0.1, names=("Smile",))


def test_arithmetic_loss_rewards_a_decoder_that_renders_the_vector():
    """Codes along x: positives at +1, negatives at -1 (vector +2). A decoder whose brightness
    follows x switches the judge's verdict on every moved code; one that ignores the code
    cannot (cross-entropy log 2 at a grey image)."""
    from facedit.train.arithmetic import ArithmeticLoss

    column = CELEBA_ATTRIBUTES.index("Smiling")
    codes = torch.tensor([[1.0], [1.0], [-1.0], [-1.0]])
    attrs = torch.zeros((4, 40), dtype=torch.int8)
    attrs[:, column] = torch.tensor([1, 1, -1, -1], dtype=torch.int8)
    loss = ArithmeticLoss(_BrightnessJudge(), 0.1, ("Smiling",)).fit(codes.numpy(), attrs.numpy())
    following = lambda z: torch.sigmoid(4 * z)[:, :, None, None].expand(-1, 3, 4, 4)  # noqa: E731
    ignoring = lambda z: torch.full((len(z), 3, 4, 4), 0.5)  # noqa: E731
    assert loss(following, codes, attrs) < 0.01
    assert loss(ignoring, codes, attrs) == pytest.approx(np.log(2), abs=1e-6)
    unknown = torch.zeros_like(attrs)  # no labels: nothing to ask
    assert loss(ignoring, codes, unknown) == 0


def test_decoder_only_fine_tune_with_the_arithmetic_term(tiny_set, tmp_path):
    from facedit.train.arithmetic import ArithmeticLoss
    from facedit.train.vae import train_vae

    start = FaceVAE(TINY_VAE)
    before = {k: v.clone() for k, v in start.state_dict().items()}
    arithmetic = ArithmeticLoss(_BrightnessJudge(), weight=0.5, names=(CELEBA_ATTRIBUTES[0],))
    with pytest.raises(ValueError, match="decoder-only"):
        train_vae(tiny_set, tmp_path / "no", max_steps=1, config=TINY_VAE, model=start,
                  arithmetic=arithmetic)
    run = tmp_path / "vae_arith"
    train_vae(tiny_set, run, minutes=10, batch=16, max_steps=4, log_every=2, config=TINY_VAE,
              model=start, init="test start", decoder_only=True, arithmetic=arithmetic)
    after = start.state_dict()
    encoder = [k for k in before if k.startswith(("encoder.", "fc_mu.", "fc_logvar."))]
    assert all(torch.equal(before[k], after[k]) for k in encoder)
    assert arithmetic.vectors.shape == (1, TINY_VAE.latent)
    assert set(_losses(run, "arithmetic"))
    options = json.loads((run / "options.json").read_text())
    assert options["arithmetic_weight"] == 0.5
    assert options["arithmetic_attributes"] == [CELEBA_ATTRIBUTES[0]]


def test_part_model_trains_on_its_box_and_exports_a_loadable_part(tiny_set, tmp_path):
    from facedit.parts import PARTS, load_part_backend
    from facedit.train.export import export_vae
    from facedit.train.vae import train_vae

    mouth = PARTS["mouth"]
    config = VAEConfig(size=16, latent=8, enc_channels=(8, 8, 16), dec_channels=(16, 8),
                       dec_extra=(0, 0))
    run = tmp_path / "mouth"
    model = train_vae(tiny_set, run, minutes=10, batch=16, max_steps=4, log_every=2,
                      config=config, part=mouth)
    assert json.loads((run / "options.json").read_text())["part"]["box"] == list(mouth.box)
    card = export_vae(model, tiny_set, run, tmp_path / "export", part=mouth)
    assert card["part"]["attributes"] == ["smiling"] and card["resolution"] == 16
    backend = load_part_backend(tmp_path / "export")
    assert backend.part == mouth and backend.size == 32  # it cuts its box from 32 px crops
    with pytest.raises(ConfigError, match="16 px \(the mouth box"):  # a crop is not its box
        train_vae(tiny_set, tmp_path / "wrong", minutes=1, batch=16, max_steps=1,
                  config=VAEConfig(size=32, latent=8, enc_channels=(8, 8, 16),
                                   dec_channels=(16, 8), dec_extra=(0, 0)), part=mouth)


def test_train_model_cli_sizes_a_part_model_to_its_box(tiny_set, tmp_path):
    from click.testing import CliRunner

    from facedit.cli import main

    run = tmp_path / "mouth"
    result = CliRunner().invoke(main, ["train", "model", "--part", "mouth", "--data",
                                       str(tiny_set), "--run", str(run), "--minutes", "0.01",
                                       "--threads", "1", "--batch", "16"])
    assert result.exit_code == 0, result.output
    assert json.loads((run / "options.json").read_text())["config"]["size"] == 16
    result = CliRunner().invoke(main, ["train", "model", "--part", "mouth", "--data",
                                       str(tiny_set), "--run", str(tmp_path / "judged"),
                                       "--feature-weight", "1"])
    assert result.exit_code != 0 and "whole faces" in result.output
