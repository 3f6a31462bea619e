"""bf16 as `auto`'s default for weights: only on a CPU that computes it natively, and only when the
manifest shows what it costs and the cost is within the bound."""
from __future__ import annotations

import dataclasses
import shutil

import pytest

from edgeseg import hardware
from edgeseg.backends.auto import default_cpu_precision
from edgeseg.manifest import Manifest, PrecisionCheck, precision_check, recorded_miou
from edgeseg.precision import BF16_MAX_DROP_POINTS, Precision

NATIVE, EMULATED = frozenset({"avx512f", "avx512_bf16"}), frozenset({"avx2"})


def weights_manifest(**metrics) -> Manifest:
    return Manifest(model="enet", num_classes=4, input_size=(64, 96), format="weights", metrics=metrics)


def check(drop_points: float) -> dict:
    return PrecisionCheck(Precision.BF16, 0.40 - drop_points / 100, 0.40, "compiled", "camvid 0006R0 (101 images)").to_dict()


@pytest.mark.parametrize("flags, metrics, expected, why", [
    (NATIVE, {"bf16": check(0.02)}, Precision.BF16, "bf16 cost 0.02 mIoU points on camvid 0006R0"),
    (NATIVE, {"bf16": check(BF16_MAX_DROP_POINTS + 0.05)}, Precision.FP32, f"over the {BF16_MAX_DROP_POINTS} allowed"),
    (NATIVE, {}, Precision.FP32, "records no bf16 measurement"),
    (NATIVE, {"bf16": {"miou": 0.4}}, Precision.FP32, "records no bf16 measurement"),  # malformed: no fp32 beside it
    (EMULATED, {"bf16": check(0.02)}, Precision.FP32, "neither avx512_bf16 nor amx_bf16"),
])
def test_bf16_is_the_default_only_when_native_and_measured_cheap(monkeypatch, flags, metrics, expected, why):
    monkeypatch.setattr(hardware, "cpu_flags", lambda: flags)
    precision, reason = default_cpu_precision(weights_manifest(**metrics))
    assert precision is expected and why in reason and reason.startswith(f"{expected}:")


def test_the_recorded_figure_is_the_one_of_the_precision_that_runs():
    own = {"val_miou": 0.40, "validation": {"describe": "camvid 0006R0 (101 images)"}}
    checked = weights_manifest(bf16=check(0.3), **own)
    assert recorded_miou(checked).value == 0.40 and recorded_miou(checked, Precision.FP32).value == 0.40
    bf16 = recorded_miou(checked, Precision.BF16)
    assert bf16.value == pytest.approx(0.397) and bf16.validation == "camvid 0006R0 (101 images), in bf16: -0.30 points from fp32 by its check on compiled"
    # a check on other frames (the all-data LinkNet's ran on frames it trained on) moves the own figure, not replaces it
    elsewhere = PrecisionCheck(Precision.BF16, 0.7459, 0.7457, "openvino", "frames these weights trained on").to_dict()
    assert recorded_miou(weights_manifest(bf16=elsewhere, **own), Precision.BF16).value == pytest.approx(0.4002)
    unchecked = recorded_miou(weights_manifest(**own), Precision.BF16)  # no bf16 figure: the fp32 one, said so
    assert unchecked.value == 0.40 and unchecked.validation == "camvid 0006R0 (101 images), in fp32"
    assert recorded_miou(weights_manifest(), Precision.BF16) is None
    # fp16-storage weights (the bundled ones) compute in fp32: run in fp32, their own figure needs no label
    stored = dataclasses.replace(weights_manifest(bf16=check(0.3), **own), precision=Precision.FP16_STORAGE)
    assert recorded_miou(stored, Precision.FP32) == recorded_miou(stored)
    assert recorded_miou(stored, Precision.FP32).validation == "camvid 0006R0 (101 images)"
    unchecked_stored = dataclasses.replace(weights_manifest(**own), precision=Precision.FP16_STORAGE)
    assert recorded_miou(unchecked_stored, Precision.BF16).validation == "camvid 0006R0 (101 images), in fp32"


def test_a_recorded_check_reads_back_typed():
    got = precision_check(weights_manifest(bf16=check(0.3)), Precision.BF16)
    assert got.backend == "compiled" and got.drop_points == pytest.approx(0.3) and got.validation.startswith("camvid")
    assert precision_check(weights_manifest(bf16={"miou": 0.4, "fp32_miou": 0.41, "backend": "tensorflow", "validation": "x"}), Precision.BF16) is None


@pytest.fixture()
def weights(tmp_path_factory, tmp_path):
    from artifact_factory import shared_artifacts

    src = shared_artifacts(tmp_path_factory)["weights"]
    for f in (src, Manifest.path_for(src)):
        shutil.copy(f, tmp_path / f.name)
    return tmp_path / src.name


def test_a_recorded_cheap_bf16_sends_auto_to_bf16_and_says_why(weights, monkeypatch):
    """Wiring only: opening a compiled runner is cheap, it compiles on its first call."""
    from edgeseg.backends import open_runner
    from edgeseg.backends.auto import choose_cpu
    from edgeseg.eval.precision_check import record_precision_check

    monkeypatch.setattr(hardware, "cpu_flags", lambda: NATIVE)
    with open_runner(weights, device="cpu") as runner:
        assert runner.precision == "fp32" and runner.selection.endswith("records no bf16 measurement (edgeseg.eval.precision_check)")
    record_precision_check(weights, PrecisionCheck(Precision.BF16, 0.3998, 0.4, "compiled", "synthetic (3 images)"))
    backend = choose_cpu("weights", "bf16").backend  # openvino, or compiled where it is not installed
    with open_runner(weights, device="cpu") as runner:
        assert (runner.name, runner.precision) == (backend, "bf16")
        assert runner.selection.startswith(f"backend auto -> {backend}: fastest") and "for a bf16 weights artifact" in runner.selection
        assert "; bf16: this CPU computes it natively" in runner.selection
        assert "cost 0.02 mIoU points on synthetic (3 images)" in runner.selection
    with open_runner(weights, device="cpu", precision="fp32") as runner:  # asked for: no default applies
        assert runner.precision == "fp32" and "bf16" not in runner.selection


def test_measuring_refuses_a_cpu_that_would_emulate_bf16(weights, monkeypatch):
    from synthetic_data import SyntheticDataset

    from edgeseg.errors import InputError
    from edgeseg.eval.precision_check import measure_precision

    monkeypatch.setattr(hardware, "cpu_flags", lambda: EMULATED)
    with pytest.raises(InputError, match="precision='bf16'"):
        measure_precision(weights, SyntheticDataset(2, (64, 96), 4))


@pytest.mark.slow
@pytest.mark.skipif(hardware.bf16_unsupported_reason() is not None, reason=str(hardware.bf16_unsupported_reason()))
def test_measuring_scores_both_precisions_on_the_same_frames(weights):
    """Runs the tiny ENet in bf16 on the back end auto picks (OpenVINO, or a compile of about a minute)."""
    from synthetic_data import SyntheticDataset

    from edgeseg.eval.precision_check import measure_precision

    got = measure_precision(weights, SyntheticDataset(3, (64, 96), 4), progress=False)
    assert got.backend in ("openvino", "compiled") and 0 <= got.miou <= 1 and 0 <= got.fp32_miou <= 1
    assert abs(got.drop_points) < 5  # random weights: argmax ties flip, but bf16 is not another model
