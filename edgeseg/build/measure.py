"""mIoU on `data` and batch-1 inference fps of each artifact of a build folder this machine can
run, through `Segmenter` (so pre- and post-processing are the deployed ones)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from edgeseg.backend_names import Backend
from edgeseg.manifest import Manifest, measurement_key
from edgeseg.precision import Precision


@dataclass(frozen=True)
class ArtifactRun:
    backend: Backend  # onnxruntime | tensorrt
    precision: Precision
    artifact: Path

    @property
    def key(self) -> str:
        return measurement_key(self.backend, self.precision)


def artifact_runs(files: dict[str, Path], manifest: Manifest) -> list[ArtifactRun]:
    runs = [ArtifactRun(Backend.ONNXRUNTIME, Precision.FP32, files["onnx"])]
    if "int8-onnx" in files:
        runs.append(ArtifactRun(Backend.ONNXRUNTIME, Precision.INT8, files["int8-onnx"]))
    if "engine" in files:
        runs.append(ArtifactRun(Backend.TENSORRT, manifest.precision, files["engine"]))
    return runs


def measure(files: dict[str, Path], manifest: Manifest, data: Path, split: str, max_images: int | None,
            log: Callable[[str], None]) -> dict:
    """{"miou": {key: ...}, "fps": {key: ...}, "measured_on": {...}} for `manifest.metrics`."""
    from edgeseg.backends import open_runner
    from edgeseg.data import open_dataset
    from edgeseg.eval.evaluate import evaluate
    from edgeseg.eval.timing import fps
    from edgeseg.segmenter import Segmenter

    dataset = open_dataset(data, split)
    miou, speed = {}, {}
    for run in artifact_runs(files, manifest):
        if run.backend is Backend.TENSORRT:
            from edgeseg.backends.tensorrt_backend import TensorRTRunner

            described, runner = manifest, TensorRTRunner(run.artifact, manifest)
        else:
            described, runner = Manifest.load(run.artifact), open_runner(run.artifact, run.backend)
        with Segmenter(runner, described) as seg:
            miou[run.key] = evaluate(seg, dataset, max_images=max_images, progress=False).summary(seg.classes)["miou"]
            x = seg.preprocess(dataset[0][0][:, :, ::-1])
            speed[run.key] = fps(lambda: seg.infer(x))
        log(f"{run.key}: mIoU {100 * miou[run.key]:.2f} on {data} ({split}), {speed[run.key]:.1f} fps (batch 1, inference only)")
    n = len(dataset) if max_images is None else min(max_images, len(dataset))
    return {"miou": miou, "fps": speed, "measured_on": {"data": str(data), "split": split, "images": n, "gpu": manifest.extra["gpu"]["name"]}}
