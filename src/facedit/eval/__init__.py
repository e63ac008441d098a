"""Evaluation of edits (SPEC §5).

* `facedit.eval.metrics` - the measures as pure numpy functions (success, flips, attribute
  dependency, PSNR / SSIM in a mask, seam score, asymmetry, realism by Fréchet distance);
* `facedit.eval.identity` - face-recognition embeddings (optional extra `facedit[eval]`);
* `facedit.eval.tasks` - what is edited on which photos (`--edits`, labels);
* `facedit.eval.methods` - the compared editing methods, registered by name;
* `facedit.eval.probe` - an independent judge the editor never sees (logistic regression on a
  region's features), read beside the classifier;
* `facedit.eval.harness` - the run: every method on every photo, measured and summarised;
* `facedit.eval.report` - report.json, report.html, plots and grids (`facedit eval`).
"""
from facedit.eval.metrics import (FeatureSpace, asymmetry, attribute_dependency, flip_rates,
                                  frechet_distance, psnr, realism_ratio, region_features,
                                  seam_score, ssim_masked, success_rate)

__all__ = ["FeatureSpace", "asymmetry", "attribute_dependency", "flip_rates", "frechet_distance",
           "psnr", "realism_ratio", "region_features", "seam_score", "ssim_masked",
           "success_rate"]
