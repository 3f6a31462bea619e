"""Datasets (CamVid, Cityscapes, image folders, synthetic scenes), transforms and colour palettes."""
