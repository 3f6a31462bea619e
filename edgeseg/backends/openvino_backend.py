"""OpenVINO back end (CPU): runs an exported ONNX graph, FP32 or the Q/DQ INT8 one.

OpenVINO reads Q/DQ pairs as quantization and executes the quantized layers in INT8 (its
low-precision transformations), so the same graph edgeseg calibrates for TensorRT runs here. Its
ONNX frontend has no MaxUnpool, so ENet and SegNet need the decomposed unpool form
(`edgeseg export --unpool decomposed`). With precision 'bf16' the float layers run in bf16, offered
only where the CPU has it natively (edgeseg.hardware).

The CPU-form INT8 graph (edgeseg.quant.cpu: uint8 activations, ONNX Runtime's placement) is refused:
OpenVINO 2026.4 crashed (SIGSEGV in compile_model) on ENet's, where the TensorRT-form graph (signed
activations) compiles and runs; a crash cannot be caught, so it is not attempted.

Compiled models are freed newest first (`_NEWEST_FIRST`): OpenVINO 2026.4 sets an alternate signal
stack on the thread that compiles a model and puts the previous one back when the model is freed.
Freed in another order, a freed stack stays registered, and the next signal Python handles (a
DataLoader worker's SIGCHLD, Ctrl-C) kills the process with SIGSEGV: two runners created A, B and
closed A, B did, in a subprocess (tests/backends/test_openvino.py).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgeseg._optional import require
from edgeseg.backend_names import Backend
from edgeseg.backends.base import RunnerBase, check_input
from edgeseg.errors import ArtifactError, InputError
from edgeseg.precision import Precision

PRECISIONS = (Precision.FP32, Precision.BF16, Precision.INT8)  # int8: the graph's own Q/DQ; its float layers stay f32


class OpenVinoRunner(RunnerBase):
    """One compiled OpenVINO model. `model` is a .onnx path or serialized ONNX bytes."""

    name = Backend.OPENVINO
    fuses_argmax = True

    def __init__(self, model: str | Path | bytes, device: str | None = None, precision: Precision | str = Precision.FP32,
                 threads: int | None = None) -> None:
        ov = require("openvino", "the openvino back end")
        if device not in (None, "cpu"):
            raise InputError(f"the openvino back end runs on device 'cpu' here, got device={device!r}")
        precision = Precision.of(precision, "precision", PRECISIONS)
        if precision is Precision.BF16:
            from edgeseg.hardware import bf16_unsupported_reason

            if why := bf16_unsupported_reason():
                raise InputError(f"precision='bf16': {why}")
        self.precision = precision
        core = ov.Core()
        config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "bf16" if precision is Precision.BF16 else "f32"}
        if threads:
            config["INFERENCE_NUM_THREADS"] = threads
        if not isinstance(model, bytes) and not Path(model).is_file():
            raise ArtifactError(f"ONNX file {model} not found")
        source = model if isinstance(model, bytes) else Path(model).read_bytes()
        if _has_uint8_activations(source):
            raise ArtifactError("OpenVINO crashes on the CPU-form INT8 graph (uint8 activations); give it the TensorRT-form one (model.int8.onnx of `edgeseg build --int8`)")
        try:
            self._compiled = core.compile_model(_with_argmax(core.read_model(source, b"")), "CPU", config)
        except RuntimeError as e:  # OpenVINO raises RuntimeError subclasses for every frontend/plugin failure
            text = str(e)
            what = "the ONNX model" if isinstance(model, bytes) else str(model)
            if "MaxUnpool" in text:
                raise ArtifactError(f"{what} uses ONNX MaxUnpool, which OpenVINO cannot read; export it with --unpool decomposed") from None
            first = next((ln.strip() for ln in text.splitlines() if ln.strip()), type(e).__name__)[:200]
            raise ArtifactError(f"{what} cannot be compiled by OpenVINO ({first})") from None
        self._request = self._compiled.create_infer_request()
        self._logits, self._classes = self._compiled.outputs
        self._entry = _NEWEST_FIRST.add(self._compiled, self._request)
        shape = self._compiled.input(0).get_partial_shape()
        self.input_shape = tuple(shape.to_shape()) if shape.is_static else None
        self.detail = f"OpenVINO {ov.__version__}, inference precision {self._compiled.get_property('INFERENCE_PRECISION_HINT')}"

    def infer(self, x: np.ndarray) -> np.ndarray:
        out = self._request.infer({0: self._checked(x)}, share_inputs=True, share_outputs=True)
        return np.array(out[self._logits], dtype=np.float32)  # a copy: the next call reuses the buffer

    def infer_classes(self, x: np.ndarray) -> np.ndarray:
        """float32 (N, 3, h, w) -> uint8 (N, h, w): the graph's argmax output, the logits left uncopied."""
        out = self._request.infer({0: self._checked(x)}, share_inputs=True, share_outputs=True)
        return np.array(out[self._classes])

    def _checked(self, x: object) -> np.ndarray:
        x = check_input(x)
        if self.input_shape is not None and x.shape != self.input_shape:
            raise InputError(f"this ONNX model takes input of shape {self.input_shape}, got {x.shape}")
        return x

    def close(self) -> None:
        self._request = self._compiled = self._logits = self._classes = None
        if (entry := getattr(self, "_entry", None)) is not None and _NEWEST_FIRST is not None:  # None: interpreter exit
            self._entry = None
            _NEWEST_FIRST.release(entry)

    def __del__(self) -> None:  # a runner dropped without close() still frees in order
        self.close()


@dataclass
class _Held:
    objects: tuple  # (compiled model, infer request)
    released: bool = False


class _FreeNewestFirst:
    """Holds every live runner's compiled model and request; a closed runner's are dropped only
    once every runner created after it has been closed too (see the module docstring)."""

    def __init__(self) -> None:
        self._live: list[_Held] = []  # oldest first
        self._lock = threading.Lock()

    def add(self, *objects) -> _Held:
        held = _Held(objects)
        with self._lock:
            self._live.append(held)
        return held

    def release(self, held: _Held) -> None:
        with self._lock:
            held.released = True
            while self._live and self._live[-1].released:
                self._live.pop().objects = ()  # the last reference to them: the request, then the model, freed here


_NEWEST_FIRST = _FreeNewestFirst()


def _with_argmax(model):
    """`model` with a second output beside its logits (N, C, h, w): their uint8 argmax over C (N, h, w),
    which the runner hands out instead of copying the logits (on a 2-core CPU numpy's argmax of ENet's
    11 x 360 x 480 logits cost about a third of the network's own time; bench/README.md). One graph
    with both outputs rather than a second compiled one, whose signal stack would nest (module
    docstring). TopK with k=1 gives ties to the lowest class, as numpy's argmax does."""
    import openvino as ov
    import openvino.opset13 as ops

    logits = model.get_results()[0].input_value(0)  # the producer: model.output(0) is the Result itself
    top = ops.topk(logits, ops.constant(np.int64(1)), axis=1, mode="max", sort="none", index_element_type=ov.Type.i32)
    classes = ops.convert(ops.squeeze(top.output(1), ops.constant(np.array([1], np.int64))), ov.Type.u8)
    model.add_results([ops.result(classes)])
    return model


def _has_uint8_activations(model: bytes) -> bool:
    """True when some QuantizeLinear quantizes to uint8 (its zero point is a uint8 initializer)."""
    import onnx

    try:
        proto = onnx.load_from_string(model)
    except Exception:  # protobuf's DecodeError and kin: not ONNX at all, which OpenVINO then reports
        return False
    uint8 = {t.name for t in proto.graph.initializer if t.data_type == onnx.TensorProto.UINT8}
    return any(n.op_type == "QuantizeLinear" and len(n.input) > 2 and n.input[2] in uint8 for n in proto.graph.node)
