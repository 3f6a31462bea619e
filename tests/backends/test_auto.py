"""The `auto` rule: the measured order, narrowed to what can run here, said in one line."""
from __future__ import annotations

import pytest

from edgeseg.backends import auto
from edgeseg.backends.auto import CPU_ORDER, choose_cpu


def test_weights_take_the_measured_fastest_cpu_path(monkeypatch):
    monkeypatch.setattr(auto, "why_not_on_cpu", lambda backend, unpool=None, uint8=False: None)
    choice = choose_cpu("weights", "fp32")
    assert choice.backend == CPU_ORDER[("weights", "fp32")][0] == "openvino"
    assert choice.line() == "backend auto -> openvino: fastest measured on a CPU for a fp32 weights artifact"


def test_a_missing_back_end_falls_to_the_next_and_says_why(monkeypatch):
    missing = {"openvino": "openvino is not installed", "compiled": "no C++ compiler for inductor"}
    monkeypatch.setattr(auto, "why_not_on_cpu", lambda backend, unpool=None, uint8=False: missing.get(backend))
    choice = choose_cpu("weights", "fp32")
    assert choice.backend == "onnxruntime"
    assert "openvino: openvino is not installed; compiled: no C++ compiler for inductor" in choice.line()
    assert "\n" not in choice.line()


def test_native_unpool_graphs_never_go_to_openvino():
    assert "MaxUnpool" in auto.why_not_on_cpu("openvino", unpool="native")
    assert choose_cpu("onnx", "fp32", unpool="native").backend == "onnxruntime"


def test_the_cpu_only_uint8_int8_form_never_goes_to_openvino():
    assert "uint8" in auto.why_not_on_cpu("openvino", uint8_activations=True)
    assert choose_cpu("onnx", "int8", uint8_activations=True).backend == "onnxruntime"


def test_bf16_is_refused_where_the_cpu_would_emulate_it(monkeypatch):
    from edgeseg import hardware
    from edgeseg.errors import InputError

    monkeypatch.setattr(hardware, "cpu_flags", lambda: frozenset({"avx2"}))
    with pytest.raises(InputError, match="avx512_bf16"):
        choose_cpu("weights", "bf16")


@pytest.mark.parametrize("fmt, backend", [("pt2", "aoti"), ("torchscript", "torchscript")])
def test_formats_with_one_runtime_keep_it(fmt, backend):
    assert choose_cpu(fmt, "fp32").backend == backend


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    from artifact_factory import shared_artifacts

    return shared_artifacts(tmp_path_factory)


def test_open_runner_follows_the_rule_and_records_its_line(artifacts, monkeypatch):
    """Wiring only: with OpenVINO ruled out, the weights go to the next path (opening a compiled runner is cheap, it compiles on its first call)."""
    from edgeseg.backends import open_runner

    real = auto.why_not_on_cpu
    monkeypatch.setattr(auto, "why_not_on_cpu", lambda b, unpool=None, uint8=False: "ruled out by the test" if b == "openvino" else real(b, unpool, uint8))
    with open_runner(artifacts["weights"], device="cpu") as runner:
        assert runner.name == auto.choose_cpu("weights", "fp32").backend != "openvino"
        assert runner.selection.startswith(f"backend auto -> {runner.name}: fastest available (openvino: ruled out by the test")
    monkeypatch.undo()
    with open_runner(artifacts["onnx-native"], device="cpu") as runner:
        assert runner.name == "onnxruntime" and runner.selection.endswith("fp32 onnx artifact")
        # openvino ranks first for fp32 ONNX; it is passed over for the native unpool, or when not installed
        assert "MaxUnpool" in runner.selection or "openvino is not installed" in runner.selection


def test_weights_run_on_openvino_under_auto_or_compile_without_it(artifacts):
    from edgeseg._optional import available
    from edgeseg.backends import open_runner

    with open_runner(artifacts["weights"], device="cpu") as runner:
        if available("openvino"):
            assert runner.name == "openvino" and runner.selection.startswith("backend auto -> openvino: fastest measured")
        else:  # opening is cheap: the graph compiles on its first call (tests/backends/test_compiled.py)
            assert runner.name == "compiled" and "openvino: openvino is not installed" in runner.selection
            assert "compiles on its first call" in runner.detail
