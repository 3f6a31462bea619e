"""ONNX Runtime back end: CPU, or CUDAExecutionProvider when the installed build has it.

onnxruntime is imported only when a runner is made, so the core imports without it.

On the CPU every ``PRelu`` is rewritten, in memory, as ``Relu(x) - slope * Relu(-x)``: the same
values, but ONNX Runtime's PRelu kernel (1.31, x86-64) is about 30x slower than those three
kernels (11 ms against 0.33 ms on a 1x64x90x120 tensor, one thread), which alone kept ENet, with
76 PReLUs, at eager PyTorch's speed. The artifact on disk, which TensorRT parses, is untouched.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from edgeseg._optional import require
from edgeseg.backends.base import RunnerBase, check_input
from edgeseg.errors import ArtifactError, InputError

# `optimization` value -> onnxruntime.GraphOptimizationLevel member
OPTIMIZATION_LEVELS = {"disable": "ORT_DISABLE_ALL", "basic": "ORT_ENABLE_BASIC", "extended": "ORT_ENABLE_EXTENDED", "all": "ORT_ENABLE_ALL"}


class OnnxRuntimeRunner(RunnerBase):
    """One InferenceSession. `model` is a .onnx path or the serialized model bytes.

    `threads` sets intra-op threads (None: ONNX Runtime's default, one per physical core);
    `optimization` is the graph optimisation level, "all" by default as in ONNX Runtime;
    `rewrite_prelu` applies the PRelu rewrite above (CPU only).
    """

    name = "onnxruntime"

    def __init__(
        self,
        model: str | Path | bytes,
        device: str | None = None,
        threads: int | None = None,
        optimization: str = "all",
        precision: str = "fp32",
        rewrite_prelu: bool = True,
    ) -> None:
        ort = require("onnxruntime", "running .onnx artifacts")
        has_cuda = "CUDAExecutionProvider" in ort.get_available_providers()
        if device not in (None, "cpu", "cuda"):
            raise InputError(f"`device` must be 'cpu' or 'cuda', got {device!r}")
        if device == "cuda" and not has_cuda:
            raise InputError("`device`='cuda' was asked for but this onnxruntime has no CUDAExecutionProvider: pip install onnxruntime-gpu")
        self.device = device or ("cuda" if has_cuda else "cpu")
        if optimization not in OPTIMIZATION_LEVELS:
            raise InputError(f"`optimization` must be one of {', '.join(OPTIMIZATION_LEVELS)}, got {optimization!r}")
        self.precision = precision

        opts = ort.SessionOptions()
        opts.graph_optimization_level = getattr(ort.GraphOptimizationLevel, OPTIMIZATION_LEVELS[optimization])
        if threads:
            opts.intra_op_num_threads = threads
        # ORT's idle workers spin by default, stealing the cores that the stream's capture, pre-
        # and post-processing threads (or another back end) need; on a 2-6 core edge CPU that
        # costs far more than the spin saves (seen here: eager ENet 4.4 s instead of 0.1 s beside it).
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        opts.add_session_config_entry("session.inter_op.allow_spinning", "0")
        opts.log_severity_level = 3  # errors only: warnings about unused initialisers are noise here
        providers = (["CUDAExecutionProvider"] if self.device == "cuda" else []) + ["CPUExecutionProvider"]
        if not isinstance(model, bytes) and not Path(model).is_file():
            raise ArtifactError(f"ONNX file {model} not found")
        try:
            source = model if isinstance(model, bytes) else Path(model).read_bytes()
            if rewrite_prelu and self.device == "cpu":
                source = prelu_as_relu(source)
            self.session = ort.InferenceSession(source, sess_options=opts, providers=providers)
        except Exception as e:  # onnx and onnxruntime raise a dozen unrelated types (DecodeError, InvalidProtobuf, Fail, ...)
            what = "the ONNX model" if isinstance(model, bytes) else str(model)
            first = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
            raise ArtifactError(f"{what} cannot be loaded by ONNX Runtime ({first}); re-export it with `edgeseg export`") from None
        inp = self.session.get_inputs()[0]
        self.input_name, self.input_shape = inp.name, tuple(inp.shape)
        self.output_name = self.session.get_outputs()[0].name

    def infer(self, x: np.ndarray) -> np.ndarray:
        x = check_input(x)
        # a static graph names every dimension; a dynamic one has strings or None there
        if any(isinstance(d, int) and d != s for d, s in zip(self.input_shape, x.shape)):
            raise InputError(f"this ONNX model takes input of shape {self.input_shape}, got {x.shape}")
        out = self.session.run([self.output_name], {self.input_name: x})[0]
        return np.asarray(out, dtype=np.float32)

    def close(self) -> None:
        self.session = None


def prelu_as_relu(model: bytes) -> bytes:
    """Serialized ONNX model with each top-level PRelu(x, slope) replaced by Relu(x) - slope * Relu(-x).

    Exact in IEEE arithmetic (up to the sign of a zero): for x > 0 it is x - slope * 0, for x < 0
    it is 0 - slope * (-x), and NaN stays NaN.
    The model comes back unchanged (same bytes) when it has no PRelu.
    """
    import onnx
    from onnx import helper

    proto = onnx.load_from_string(model)
    if not any(n.op_type == "PRelu" and n.domain in ("", "ai.onnx") for n in proto.graph.node):
        return model
    nodes = []
    for n in proto.graph.node:
        if n.op_type != "PRelu" or n.domain not in ("", "ai.onnx"):
            nodes.append(n)
            continue
        (x, slope), y = n.input, n.output[0]
        t = f"{n.name or y}/prelu_as_relu"
        nodes += [
            helper.make_node("Relu", [x], [f"{t}/pos"], name=f"{t}/relu_pos"),
            helper.make_node("Neg", [x], [f"{t}/neg_x"], name=f"{t}/neg"),
            helper.make_node("Relu", [f"{t}/neg_x"], [f"{t}/neg_part"], name=f"{t}/relu_neg"),
            helper.make_node("Mul", [f"{t}/neg_part", slope], [f"{t}/scaled"], name=f"{t}/mul"),
            helper.make_node("Sub", [f"{t}/pos", f"{t}/scaled"], [y], name=f"{t}/sub"),
        ]
    del proto.graph.node[:]
    proto.graph.node.extend(nodes)
    return proto.SerializeToString()
