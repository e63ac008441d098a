"""Evaluation of edits (SPEC §5): edit success, preservation of other attributes and pixels,
realism of the edited region, as pure numpy functions in `facedit.eval.metrics`."""
from facedit.eval.metrics import (FeatureSpace, flip_rates, frechet_distance, psnr,
                                  realism_ratio, region_features, seam_score, ssim_masked,
                                  success_rate)

__all__ = ["FeatureSpace", "flip_rates", "frechet_distance", "psnr", "realism_ratio",
           "region_features", "seam_score", "ssim_masked", "success_rate"]
