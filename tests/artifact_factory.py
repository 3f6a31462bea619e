"""Tiny artifacts of one model in every format, for the runtime tests (backends, segmenter, CLI).

ENet at 64x96 with 4 classes: small, and it has max-unpool, so both ONNX unpool forms are exercised.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from synthetic_data import SyntheticDataset
from edgeseg.export.onnx import export_onnx
from edgeseg.export.torchscript import export_torchscript
from edgeseg.manifest import Manifest
from edgeseg.registry import create_model
from edgeseg.train.checkpoint import save_weights

MODEL, NUM_CLASSES, INPUT_SIZE = "enet", 4, (64, 96)


def tiny_manifest(fmt: str = "weights") -> Manifest:
    return Manifest(model=MODEL, num_classes=NUM_CLASSES, input_size=INPUT_SIZE, format=fmt, classes=[f"class{i}" for i in range(NUM_CLASSES)])


def tiny_model():
    return create_model(MODEL, num_classes=NUM_CLASSES).eval()


def write_weights(folder: Path, model) -> Path:
    path = folder / f"{MODEL}.safetensors"
    save_weights(path, model)
    manifest = tiny_manifest()
    manifest.record_hash(path)
    manifest.save(path)
    return path


_written: dict[str, Path] = {}


def shared_artifacts(tmp_path_factory) -> dict[str, Path]:
    """`write_all` once per test session (exports take seconds), shared by every module that asks."""
    if not _written:
        _written.update(write_all(tmp_path_factory.mktemp("artifacts")))
    return dict(_written)


def write_all(folder: Path) -> dict[str, Path]:
    """One model as weights, TorchScript and ONNX (native and decomposed unpool), each with its manifest."""
    model = tiny_model()
    manifest = tiny_manifest()
    return {
        "weights": write_weights(folder, model),
        "torchscript": export_torchscript(model, folder / f"{MODEL}.pt", manifest=manifest),
        "onnx-native": export_onnx(model, folder / f"{MODEL}-native.onnx", INPUT_SIZE, unpool="native", manifest=manifest),
        "onnx-decomposed": export_onnx(model, folder / f"{MODEL}-decomposed.onnx", INPUT_SIZE, unpool="decomposed", manifest=manifest),
    }


def write_garbage(path: Path, fmt: str) -> Path:
    """Random bytes under an artifact's name, with a manifest whose hash matches them (so only the
    back end's own loader can notice)."""
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    manifest = tiny_manifest(fmt)
    manifest.record_hash(path)
    manifest.save(path)
    return path


def write_image_folder(root: Path, n: int = 3, size: tuple[int, int] = (48, 72)) -> Path:
    """A synthetic dataset in the image-folder layout: images/, masks/, classes.json."""
    data = SyntheticDataset(n, size, NUM_CLASSES)
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    (root / "classes.json").write_text(json.dumps({"classes": list(data.classes), "ignore_index": data.ignore_index}))
    for i in range(n):
        img, lbl = data[i]
        Image.fromarray(img).save(root / "images" / f"{i:03d}.png")
        Image.fromarray(lbl).save(root / "masks" / f"{i:03d}.png")
    return root


def write_camvid_listings(root: Path, listings: dict[str, list[str]], size: tuple[int, int] = (64, 96), seed: int = 0) -> Path:
    """Random frames in CamVid's layout: `<listing>.txt` naming `<listing>/<frame>.png` and its label
    in `<listing>annot/`, 11 classes and void (11); frame names carry the sequence (`A_00001`)."""
    rng = np.random.default_rng(seed)
    for split, names in listings.items():
        (root / split).mkdir(parents=True)
        (root / f"{split}annot").mkdir()
        for name in names:
            Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(root / split / f"{name}.png")
            Image.fromarray(rng.integers(0, 12, size, dtype=np.uint8)).save(root / f"{split}annot" / f"{name}.png")
        (root / f"{split}.txt").write_text("".join(f"{split}/{n}.png {split}annot/{n}.png\n" for n in names))
    return root
