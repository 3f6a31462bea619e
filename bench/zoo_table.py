"""The zoo table: parameters, GFLOPs and ONNX Runtime CPU latency of every registered model.

    taskset -c 0,1 python bench/zoo_table.py --threads 2 --json bench/results/zoo-cpu.json

Parameters: default (paper-size) build, 11 classes. GFLOPs: edgeseg.flops (2 per multiply-add
of convolutions and matrix products, counted on the meta device) at 512x1024 and at the latency
size. Latency: batch 1, FP32, 360x480 (H x W, CamVid), ONNX Runtime CPU provider through the
same OnnxRuntimeRunner as deployment, native unpool form, random weights (speed does not
depend on them); median and p90 of --runs calls after --warmup. Models above --max-gflops at the
latency size are listed but not timed (the VGG-16 giants take seconds per frame on two cores)
unless named in --models. `--crf` also times `dense_crf` per frame at the latency size.
Run by hand, never as a timed test.
"""
from __future__ import annotations

import argparse
import platform
import tempfile
from pathlib import Path

import numpy as np

from edgeseg.eval.timing import time_interleaved


def time_ort(name: str, size: tuple[int, int], folder: Path, threads: int, warmup: int, runs: int) -> dict:
    from edgeseg.backends.onnxruntime_backend import OnnxRuntimeRunner
    from edgeseg.export.onnx import export_onnx
    from edgeseg.registry import create_model

    model = create_model(name, num_classes=11).eval()
    path = export_onnx(model, folder / f"{name}.onnx", size)
    del model
    x = np.random.default_rng(0).standard_normal((1, 3, *size)).astype(np.float32)
    with OnnxRuntimeRunner(path, "cpu", threads=threads) as runner:
        t = 1000 * time_interleaved({name: lambda: runner.infer(x)}, warmup, runs)[name]
    path.unlink()
    return {"median_ms": float(np.median(t)), "p90_ms": float(np.percentile(t, 90))}


def time_crf(size: tuple[int, int], runs: int) -> dict:
    from edgeseg.data.synthetic import synthetic_scene
    from edgeseg.postprocess.crf import dense_crf

    img, label = synthetic_scene(*size, num_classes=11, seed=0)
    logits = np.eye(11)[label].transpose(2, 0, 1) + np.random.default_rng(0).normal(0, 0.9, (11, *size))
    probs = (np.exp(logits) / np.exp(logits).sum(0)).astype(np.float32)
    times = 1000 * time_interleaved({"crf": lambda: dense_crf(img, probs)}, 0, runs)["crf"]
    refined = dense_crf(img, probs)
    return {
        "median_ms": float(np.median(times)),
        "pixel_acc_before": float((probs.argmax(0) == label).mean()),
        "pixel_acc_after": float((refined.argmax(0) == label).mean()),
    }


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", help="comma-separated names to time regardless of --max-gflops (default: all registered)")
    p.add_argument("--height", type=int, default=360)
    p.add_argument("--width", type=int, default=480)
    p.add_argument("--max-gflops", type=float, default=60.0, help="skip timing models above this at the latency size")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--crf", action="store_true", help="also time the dense CRF per frame")
    p.add_argument("--json", type=Path, help="also write the results here")
    args = p.parse_args(argv)

    import torch

    from edgeseg.fileio import write_json
    from edgeseg.flops import model_cost
    from edgeseg.manifest import library_versions
    from edgeseg.registry import list_models, model_info

    torch.set_num_threads(args.threads)
    size = (args.height, args.width)
    chosen = args.models.split(",") if args.models else None
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in chosen or list_models():
            params, flops_big = model_cost(name, (512, 1024))
            _, flops = model_cost(name, size)
            row = {"model": name, "paper": model_info(name).paper, "params_m": params / 1e6,
                   "gflops_512x1024": None if flops_big is None else flops_big / 1e9,
                   "gflops_latency_size": None if flops is None else flops / 1e9}
            if flops is not None and (chosen or flops / 1e9 <= args.max_gflops):
                row.update(time_ort(name, size, Path(tmp), args.threads, args.warmup, args.runs))
            rows.append(row)
            print(row, flush=True)
    result = {"machine": platform.processor() or platform.machine(), "threads": args.threads, "size": list(size),
              "versions": library_versions(), "models": rows}
    if args.crf:
        result["crf"] = time_crf(size, max(1, args.runs // 3))

    h, w = size
    print(f"\n| model | params (M) | GFLOPs 512x1024 | GFLOPs {h}x{w} | ORT CPU ms {h}x{w} (median / p90) |")
    print("|---|---:|---:|---:|---:|")
    fmt = lambda v: "n/a" if v is None else f"{v:.1f}"  # noqa: E731
    for r in rows:
        lat = f"{r['median_ms']:.0f} / {r['p90_ms']:.0f}" if "median_ms" in r else "not timed"
        print(f"| {r['model']} | {r['params_m']:.2f} | {fmt(r['gflops_512x1024'])} | {fmt(r['gflops_latency_size'])} | {lat} |")
    if args.crf:
        c = result["crf"]
        print(f"\ndense CRF at {h}x{w}, 11 classes, 5 iterations: {c['median_ms']:.0f} ms/frame "
              f"(synthetic scene, pixel accuracy {c['pixel_acc_before']:.3f} -> {c['pixel_acc_after']:.3f})")
    if args.json:
        write_json(args.json, result)
    return result


if __name__ == "__main__":
    main()
