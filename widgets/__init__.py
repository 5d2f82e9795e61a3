"""Qt views of NN Studio. Widgets may read engine metadata but never import ``app``."""
