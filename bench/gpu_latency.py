"""Batch-1 latency of each GPU back end, through the one Runner interface (host array in, host
logits out, so the copies a deployment pays are counted).

    python bench/gpu_latency.py [--models enet linknet] [--size 360x480] [--iters 200] [--json out.json]

Back ends: torch eager FP32; the no-TensorRT GPU path (FP16, channels-last, CUDA graph) on the
eager and the TorchScript model; ONNX Runtime's CUDA provider where installed; TensorRT FP16
engines built by `edgeseg build` (max-unpool as the plugin where the installed TensorRT supports
one, and decomposed) where TensorRT is installed. Weights are random: speed does not depend on
them. Needs a CUDA GPU; rows that cannot run say why.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
from pathlib import Path

import numpy as np
import torch

from edgeseg.eval.timing import time_interleaved


def measure(runner, x: np.ndarray, iters: int) -> dict:
    times = sorted(1000 * time_interleaved({"runner": lambda: runner.infer(x)}, 20, iters)["runner"])
    median = statistics.median(times)
    return {"median_ms": median, "p90_ms": times[int(0.9 * (len(times) - 1))], "fps": 1000 / median}


def runners(name: str, size: tuple[int, int], workdir: Path):
    """(label, factory or the reason it cannot run) for every back end."""
    from edgeseg.backends.cuda_graph import CudaGraphRunner
    from edgeseg.backends.tensorrt_host import tensorrt_unavailable
    from edgeseg.backends.torch_backend import TorchRunner
    from edgeseg.plugins.loading import unpool_plugin_options
    from edgeseg.registry import create_model

    model = create_model(name).eval()
    yield "torch eager fp32", lambda: TorchRunner(model, "cuda")
    yield "cuda-graph fp16 (eager)", lambda: CudaGraphRunner(create_model(name).eval(), "fp16")
    yield "cuda-graph fp16 (torchscript)", lambda: CudaGraphRunner(torch.jit.script(create_model(name).eval()), "fp16")

    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        from edgeseg.backends.onnxruntime_backend import OnnxRuntimeRunner
        from edgeseg.export.onnx import onnx_bytes

        yield "onnxruntime cuda fp32", lambda: OnnxRuntimeRunner(onnx_bytes(create_model(name).eval(), size, "native"), "cuda")
    else:
        yield "onnxruntime cuda fp32", "this onnxruntime has no CUDAExecutionProvider (pip install onnxruntime-gpu)"

    why = tensorrt_unavailable()
    for unpool in ("plugin", "decomposed"):
        label = f"tensorrt fp16 (unpool {unpool})"
        if why:
            yield label, why
        elif unpool == "plugin" and not unpool_plugin_options():
            yield label, "this TensorRT can use no max-unpool plugin"
        else:
            yield label, lambda u=unpool: _engine(name, size, u, workdir)


def _engine(name: str, size, unpool: str, workdir: Path):
    from edgeseg.backends.tensorrt_backend import TensorRTRunner
    from edgeseg.build import BuildOptions, build
    from edgeseg.manifest import Manifest

    out = workdir / f"{name}-{unpool}"
    build(name, out, BuildOptions(fp16=True, input_size=size, unpool=unpool, random_init=True), log=lambda _: None)
    return TensorRTRunner(out / "model.engine", Manifest.load(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["enet", "linknet"])
    parser.add_argument("--size", default="360x480")
    parser.add_argument("--iters", type=int, default=200)
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("needs a CUDA GPU: torch sees none")
    from edgeseg.export import parse_input_size
    from edgeseg.registry import model_info

    size = parse_input_size(args.size)
    x = np.random.default_rng(0).normal(size=(1, 3, *size)).astype(np.float32)
    rows = []
    with tempfile.TemporaryDirectory(prefix="edgeseg-latency-") as tmp:
        for name in args.models:
            model_info(name)
            for label, make in runners(name, size, Path(tmp)):
                if isinstance(make, str):
                    rows.append({"model": name, "backend": label, "skipped": make})
                    continue
                with make() as runner:
                    rows.append({"model": name, "backend": label, **measure(runner, x, args.iters)})
    print(f"{torch.cuda.get_device_name(0)}, input 1x3x{size[0]}x{size[1]}, median of {args.iters} Runner.infer calls (copies included)")
    for r in rows:
        if "skipped" in r:
            print(f"{r['model']:<10} {r['backend']:<32} not run: {r['skipped']}")
        else:
            print(f"{r['model']:<10} {r['backend']:<32} {r['median_ms']:8.2f} ms  p90 {r['p90_ms']:8.2f} ms  {r['fps']:8.1f} fps")
    if args.json:
        from edgeseg.manifest import library_versions

        with open(args.json, "w") as f:
            json.dump({"gpu": torch.cuda.get_device_name(0), "versions": library_versions(), "python": platform.python_version(),
                       "input": [1, 3, *size], "iters": args.iters, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
