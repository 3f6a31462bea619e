"""ONNX Runtime back end: CPU, or CUDAExecutionProvider when the installed build has it.

onnxruntime is imported only when a runner is made, so the core imports without it.

On the CPU every ``PRelu`` is rewritten, in memory, as ``Max(x, slope * x)`` (slopes <= 1) or
``Relu(x) - slope * Relu(-x)`` (edgeseg.export.rewrite.prelu_as_relu: ENet runs about 1.4x faster
than with ONNX Runtime's PRelu kernel, measured with ORT 1.32). Files
written by `edgeseg export` already carry that rewrite; for them it is a no-op.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from edgeseg._optional import require
from edgeseg.backend_names import Backend
from edgeseg.backends.base import RunnerBase, check_input
from edgeseg.errors import ArtifactError, InputError
from edgeseg.export.rewrite import prelu_as_relu
from edgeseg.precision import Precision

# `optimization` value -> onnxruntime.GraphOptimizationLevel member
OPTIMIZATION_LEVELS = {"disable": "ORT_DISABLE_ALL", "basic": "ORT_ENABLE_BASIC", "extended": "ORT_ENABLE_EXTENDED", "all": "ORT_ENABLE_ALL"}


class OnnxRuntimeRunner(RunnerBase):
    """One InferenceSession. `model` is a .onnx path or the serialized model bytes.

    `threads` sets intra-op threads (None: ONNX Runtime's default, one per physical core);
    `optimization` is the graph optimisation level, "all" by default as in ONNX Runtime;
    `rewrite_prelu` applies the PRelu rewrite above (CPU only).
    """

    name = Backend.ONNXRUNTIME

    def __init__(
        self,
        model: str | Path | bytes,
        device: str | None = None,
        threads: int | None = None,
        optimization: str = "all",
        precision: Precision | str = Precision.FP32,
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
        self.precision = Precision.of(precision, "precision")

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

