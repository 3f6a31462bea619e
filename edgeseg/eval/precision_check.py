"""What a reduced precision costs a weights artifact, measured and recorded in its manifest.

Both precisions run through `Segmenter.predict` on the same frames (edgeseg.eval.evaluate): fp32
on the torch back end, the reduced one on the back end `auto` would run it on. The figure goes into
the manifest (`metrics["bf16"]`), where `auto` reads it before making bf16 a default
(edgeseg.backends.auto.default_cpu_precision).
"""
from __future__ import annotations

from pathlib import Path

from edgeseg.artifact_format import ArtifactFormat
from edgeseg.backend_names import Backend
from edgeseg.errors import InputError
from edgeseg.manifest import Manifest, PrecisionCheck
from edgeseg.precision import Precision


def measure_precision(weights: str | Path, dataset, precision: Precision | str = Precision.BF16, progress: bool = True) -> PrecisionCheck:
    """Score the `weights` artifact on `dataset` in fp32 and in `precision` (bf16: needs a CPU that
    computes it natively)."""
    from edgeseg.backends import resolve_artifact
    from edgeseg.backends.auto import choose_cpu
    from edgeseg.eval.evaluate import evaluate
    from edgeseg.segmenter import Segmenter

    precision = Precision.of(precision, "precision", (Precision.BF16,))
    manifest, file = resolve_artifact(weights)
    if manifest.format is not ArtifactFormat.WEIGHTS:
        raise InputError(f"`weights`: a reduced precision is checked on a weights artifact, {weights} is {manifest.format}")
    backend = choose_cpu(ArtifactFormat.WEIGHTS, precision).backend  # an InputError where this CPU lacks bf16
    with Segmenter.load(file, backend=Backend.TORCH, device="cpu") as seg:
        fp32 = evaluate(seg, dataset, progress=progress).miou()
    with Segmenter.load(file, backend=backend, device="cpu", precision=precision) as seg:
        reduced = evaluate(seg, dataset, progress=progress).miou()
    return PrecisionCheck(precision, reduced, fp32, backend, f"{dataset.name} ({len(dataset)} images)")


def record_precision_check(weights: str | Path, check: PrecisionCheck) -> Path:
    """Write `check` into the manifest beside `weights` (the weights file itself is unchanged)."""
    manifest = Manifest.load(weights)
    manifest.metrics[str(check.precision)] = check.to_dict()
    return manifest.save(weights)
