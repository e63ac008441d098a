"""Training of facedit's own models: resumable runs with checkpoints, a loss log and sample grids."""
