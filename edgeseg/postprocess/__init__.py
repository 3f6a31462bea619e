"""Post-processing of class probabilities (dense CRF)."""
