"""Edit metrics on constructed cases with known answers."""
import numpy as np
import pytest

from facedit.errors import ShapeError
from facedit.eval.metrics import (FeatureSpace, asymmetry, attribute_dependency,
                                  effective_count, feature_groups, flip_rates, frechet_distance,
                                  matching_weights, psnr, realism_ratio, region_features,
                                  seam_score, ssim_masked, success_rate)
from facedit.masks import feather


@pytest.fixture
def photo():
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:96, 0:128]
    base = np.stack([xx * 1.2, yy * 1.5, 80 + 0 * xx], axis=2) + rng.normal(0, 3, (96, 128, 3))
    return np.clip(base, 0, 255).astype(np.uint8)


def test_success_rate_counts_the_target_side_and_nan_as_failure():
    p = np.array([0.9, 0.2, np.nan, 0.6])
    assert success_rate(p, target_on=True) == 0.5
    assert success_rate(p, target_on=False) == 0.25
    assert np.isnan(success_rate(np.array([]), True))
    with pytest.raises(ShapeError):
        success_rate(np.zeros((2, 2)), True)


def test_flip_rates():
    before = np.array([[0.9, 0.1, 0.6], [0.2, 0.3, 0.7], [0.8, 0.8, 0.1]])
    assert np.array_equal(flip_rates(before, before), np.zeros(3))
    after = np.array([[0.4, 0.1, 0.6], [0.6, 0.3, 0.7], [0.8, 0.8, 0.1]])
    assert np.allclose(flip_rates(before, after), [2 / 3, 0, 0])
    after[2] = np.nan  # a face not found again is left out
    assert np.allclose(flip_rates(before, after), [1, 0, 0])
    with pytest.raises(ShapeError):
        flip_rates(before, after[:2])


def test_psnr_known_values(photo):
    assert psnr(photo, photo) == float("inf")
    shifted = photo.astype(np.float64) + 10
    assert psnr(photo, shifted) == pytest.approx(10 * np.log10(255 ** 2 / 100))
    assert np.isnan(psnr(photo, shifted, mask=np.zeros(photo.shape[:2], bool)))


def test_edit_confined_to_a_mask_leaves_psnr_outside_infinite(photo):
    mask = np.zeros(photo.shape[:2], bool)
    mask[20:50, 30:70] = True
    edited = photo.copy()
    edited[mask] = 255 - edited[mask]
    assert psnr(photo, edited, mask=~mask) == float("inf")
    assert psnr(photo, edited, mask=mask) < 20
    assert psnr(photo, edited) > psnr(photo, edited, mask=mask)
    assert ssim_masked(photo, edited, ~mask) > ssim_masked(photo, edited, mask)


def test_ssim_of_identical_images_is_one(photo):
    assert ssim_masked(photo, photo) == pytest.approx(1.0)


def test_frechet_distance_of_a_set_with_itself_and_of_a_shifted_set():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(500, 6)) @ rng.normal(size=(6, 6))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    shift = np.array([1.0, -2.0, 0.5, 0.0, 3.0, 1.0])
    assert frechet_distance(a, a + shift) == pytest.approx(shift @ shift, rel=1e-6)
    # Independent samples of one Gaussian are close; of two far apart Gaussians are not.
    b = rng.normal(size=(500, 6)) @ np.eye(6)
    assert frechet_distance(b, rng.normal(size=(500, 6))) < 0.5
    assert frechet_distance(b, rng.normal(size=(500, 6)) + 5) == pytest.approx(150, rel=0.05)
    with pytest.raises(ShapeError):
        frechet_distance(a, a[:, :3])


def test_frechet_distance_with_fewer_samples_than_dimensions_is_finite():
    rng = np.random.default_rng(2)
    assert np.isfinite(frechet_distance(rng.normal(size=(5, 10)), rng.normal(size=(7, 10))))


def test_weighted_frechet_distance():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(300, 4)), rng.normal(size=(200, 4)) + 1
    assert frechet_distance(a, b, np.ones(200)) == pytest.approx(frechet_distance(a, b))
    assert frechet_distance(a, b, np.full(200, 7.0)) == pytest.approx(frechet_distance(a, b))
    # Weighting b's rows onto a subset is the same as keeping only that subset.
    w = np.zeros(200)
    w[:120] = 1.0
    assert frechet_distance(a, b, w) == pytest.approx(frechet_distance(a, b[:120]), rel=1e-6)
    for bad in (np.ones(5), -np.ones(200), np.zeros(200)):
        with pytest.raises(ShapeError):
            frechet_distance(a, b, bad)


def test_matching_weights_give_the_references_the_targets_mix_of_traits():
    rng = np.random.default_rng(4)
    # References are 75% men, the targets 35% (CelebA's faces with and without eyeglasses).
    ref = np.c_[rng.random(400) < 0.75, rng.random(400) < 0.5].astype(float)
    tgt = np.c_[rng.random(300) < 0.35, rng.random(300) < 0.5].astype(float)
    w = matching_weights(ref, tgt)
    assert w.shape == (400,) and np.all(w > 0) and w.mean() == pytest.approx(1.0)
    assert np.average(ref[:, 0], weights=w) == pytest.approx(tgt[:, 0].mean(), abs=0.03)
    assert ref[:, 0].mean() > 0.65  # unweighted, far from it
    assert np.average(ref[:, 1], weights=w) == pytest.approx(tgt[:, 1].mean(), abs=0.05)
    assert 100 < effective_count(w) < 400
    assert effective_count(np.ones(50)) == pytest.approx(50)
    # Nothing to match on: equal weights.
    assert np.array_equal(matching_weights(np.zeros((10, 0)), np.zeros((5, 0))), np.ones(10))
    with pytest.raises(ShapeError):
        matching_weights(ref, tgt[:, :1])


def test_matching_removes_a_confound_from_the_distance():
    """Real faces with an attribute differ from the inputs in a second trait (sex); an output that
    gained the attribute but kept its sex is far from the raw references and close to the
    matched ones."""
    rng = np.random.default_rng(5)
    ref_men = rng.random(600) < 0.75
    tgt_men = rng.random(600) < 0.35
    ref = rng.normal(size=(600, 3)) + np.c_[ref_men * 2.0, np.ones(600), np.zeros(600)]
    out = rng.normal(size=(600, 3)) + np.c_[tgt_men * 2.0, np.ones(600), np.zeros(600)]
    w = matching_weights(ref_men[:, None].astype(float), tgt_men[:, None].astype(float))
    assert frechet_distance(out, ref, w) < 0.3 * frechet_distance(out, ref)


def test_realism_ratio():
    assert realism_ratio(3.0, 6.0) == 0.5
    assert np.isnan(realism_ratio(1.0, 0.0))


def test_seam_score_finds_a_hard_pasted_square(photo):
    square = np.zeros(photo.shape[:2], np.float32)
    square[30:66, 40:90] = 1
    soft = feather(square, 8)
    patch = np.full_like(photo, (200, 60, 60))

    def paste(weight):
        w = weight[:, :, None]
        return np.clip(np.rint(photo * (1 - w) + patch * w), 0, 255).astype(np.uint8)

    hard_score, soft_score = seam_score(paste(square), square), seam_score(paste(soft), soft)
    untouched = seam_score(photo, square)
    assert hard_score > 4 * soft_score
    assert hard_score > 20 * untouched
    assert 0.3 < untouched < 3  # the boundary of nothing does not stand out
    assert np.isnan(seam_score(photo, np.ones(photo.shape[:2])))
    with pytest.raises(ShapeError):
        seam_score(photo, square[:10])


def test_region_features_and_feature_space(astronaut_aligned):
    crop, face = astronaut_aligned.crop, astronaut_aligned.face
    darker = (crop * 0.6).astype(np.uint8)
    feats = region_features(np.stack([crop, crop, darker]), [face] * 3, "mouth_area")
    assert feats.shape == (3, sum(feature_groups()))
    assert np.array_equal(feats[0], feats[1])
    assert not np.allclose(feats[0], feats[2])
    rng = np.random.default_rng(3)
    noise = lambda n: rng.normal(0, 0.01, (n, feats.shape[1]))  # noqa: E731
    real = feats[[0] * 40] + noise(40)
    space = FeatureSpace.fit(real, dims=8)
    assert space(feats).shape == (3, 8)
    # Darkened faces are far from the real ones; more real ones are not.
    near = frechet_distance(space(real), space(feats[[0] * 20] + noise(20)))
    far = frechet_distance(space(real), space(feats[[2] * 20] + noise(20)))
    assert far > 100 * near
    with pytest.raises(ShapeError):
        region_features(crop[None], [face, face], "mouth_area")


def test_region_features_of_an_empty_region_are_nan(astronaut_aligned):
    from facedit.faces import Face

    face = astronaut_aligned.face
    away = Face(face.box, face.score, face.mesh + np.float32([1000, 1000, 0]))  # off the crop
    feats = region_features(astronaut_aligned.crop[None], [away], "mouth")
    assert np.isnan(feats).all()


def test_identical_images_have_the_known_answers(photo):
    """An edit that changes nothing: success 0 (the inputs lacked the attribute), PSNR inf,
    SSIM 1, no flips, no attribute dependency."""
    p_before = np.array([[0.1, 0.8, 0.3], [0.2, 0.1, 0.9]])
    assert success_rate(p_before[:, 0], target_on=True) == 0.0
    assert psnr(photo, photo) == float("inf")
    assert ssim_masked(photo, photo) == pytest.approx(1.0)
    assert np.array_equal(flip_rates(p_before, p_before), np.zeros(3))
    assert np.array_equal(attribute_dependency(p_before, p_before), np.zeros(3))


def test_attribute_dependency_in_standard_deviations_of_the_logit():
    logit = np.array([[-1.0, 0.0], [1.0, 2.0]])  # logit std 1 for both attributes
    p = 1 / (1 + np.exp(-logit))
    moved = 1 / (1 + np.exp(-(logit + [0.5, -2.0])))
    assert attribute_dependency(p, moved) == pytest.approx([0.5, 2.0])
    moved[0] = np.nan  # a face not found again is left out
    assert attribute_dependency(p, moved) == pytest.approx([0.5, 2.0])
    with pytest.raises(ShapeError):
        attribute_dependency(p, moved[:1])


def test_asymmetry_known_values():
    symmetric = np.tile(np.array([10, 50, 90, 50, 10], np.float32), (4, 1))
    assert asymmetry(symmetric) == 0.0
    ramp = np.tile(np.arange(4, dtype=np.float32) * 10, (3, 1))  # 0 10 20 30 vs 30 20 10 0
    assert asymmetry(np.stack([ramp] * 3, axis=2)) == pytest.approx(20.0)
    left = np.zeros((3, 4), bool)
    left[:, 0] = True  # with its mirror: columns 0 and 3, |0 - 30| each
    assert asymmetry(ramp, left) == pytest.approx(30.0)
    assert np.isnan(asymmetry(ramp, np.zeros((3, 4), bool)))
    with pytest.raises(ShapeError):
        asymmetry(ramp, left[:2])
