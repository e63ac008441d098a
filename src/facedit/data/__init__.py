"""Training data: the shared face datasets aligned by facedit into a cached, labelled set."""
