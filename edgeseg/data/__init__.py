"""Datasets (CamVid, image folders, synthetic scenes), transforms and colour palettes."""
