"""ONNX Runtime CPU latency of INT8 against FP32 for the deployable trio.

For each model (random weights: speed does not depend on their values) the FP32 graph is the
prepared one INT8 starts from (edgeseg.quant.graph.prepare; ENet with the decomposed unpool, as
TensorRT needs). Three graphs are timed through the same `OnnxRuntimeRunner.infer`, in
interleaved rounds (one call each per round) so background load hits all alike:

- fp32: the prepared FP32 graph;
- int8 tensorrt-form: Q/DQ in TensorRT's placement, signed activations (edgeseg.quant.qdq);
- int8 cpu-form: ONNX Runtime's placement, uint8 activations (edgeseg.quant.cpu), CPU only.

Scales come from a few calibration images (the recipe's calibration manifest when CamVid is
there, else random inputs) with the max calibrator; the method does not change the graph's shape.

    python bench/int8_speed.py --threads 1 --json bench/results/int8-speed-threads1.json
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
from timing import record_run, time_interleaved

TRIO = {"enet": "enet-camvid", "linknet": "linknet-camvid", "deeplabv3plus_mobilenetv2": "deeplabv3plus-mobilenetv2-camvid"}


def calibration_inputs(recipe_name: str, size: tuple[int, int], count: int) -> tuple[list[np.ndarray], str]:
    from edgeseg.errors import EdgesegError
    from edgeseg.quant.calibset import CalibrationInputs, CalibrationSet, recipe_path
    from edgeseg.recipe import load_recipe

    r = load_recipe(recipe_name)
    try:
        cs = CalibrationSet.load(recipe_path(r, r.calibration.manifest))
        inputs = CalibrationInputs(recipe_path(r, r.data.path), cs.images[:count], size, r.data.mean, r.data.std)
        return [inputs[i] for i in range(len(inputs))], f"{count} images of {r.calibration.manifest}"
    except (EdgesegError, OSError):
        rng = np.random.default_rng(0)
        return [rng.standard_normal((1, 3, *size)).astype(np.float32) for _ in range(count)], f"{count} random inputs"


def graphs(name: str, recipe_name: str, size: tuple[int, int], calib_images: int) -> tuple[dict[str, bytes], str]:
    import torch

    from edgeseg.export.onnx import onnx_bytes
    from edgeseg.quant import calibrators, cpu, graph, qdq
    from edgeseg.quant.method import Kind, Method
    from edgeseg.quant.stats import collect
    from edgeseg.recipe import load_recipe
    from edgeseg.registry import create_model

    torch.manual_seed(0)
    r = load_recipe(recipe_name)
    model = create_model(name, num_classes=11, **r.model.kwargs).eval()
    fp32 = graph.prepare(onnx_bytes(model, size, unpool="decomposed"))
    inputs, source = calibration_inputs(recipe_name, size, calib_images)
    stats = collect(fp32, inputs)
    amax = calibrators.compute_amax(stats, Method(Kind.MAX))
    keep_float = qdq.tensorrt_int8_unsupported(fp32)  # as `edgeseg calibrate` does
    return {
        "fp32": fp32.SerializeToString(),
        "int8 tensorrt-form": qdq.insert_qdq(fp32, amax, keep_float).SerializeToString(),
        "int8 cpu-form": cpu.cpu_qdq(fp32, stats, amax, keep_float).SerializeToString(),
    }, source



def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default=",".join(TRIO), help="comma-separated, from: " + ", ".join(TRIO))
    p.add_argument("--height", type=int, default=360)
    p.add_argument("--width", type=int, default=480)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--runs", type=int, default=20, help="timed rounds")
    p.add_argument("--threads", type=int, default=1, help="ONNX Runtime intra_op_num_threads")
    p.add_argument("--calib-images", type=int, default=8)
    p.add_argument("--json", type=Path, help="also write the results here")
    args = p.parse_args(argv)

    from edgeseg.backends.onnxruntime_backend import OnnxRuntimeRunner

    size = (args.height, args.width)
    x = np.random.default_rng(1).standard_normal((1, 3, *size)).astype(np.float32)
    rows = []
    for name in args.models.split(","):
        models, source = graphs(name, TRIO[name], size, args.calib_images)
        runners = {label: OnnxRuntimeRunner(m, "cpu", threads=args.threads, precision=label.split()[0]) for label, m in models.items()}
        times = time_interleaved(runners, x, args.warmup, args.runs)
        base_med, base_min = float(np.median(times["fp32"])), float(times["fp32"].min())
        for label, t in times.items():
            rows.append({"model": name, "graph": label, "median_ms": float(np.median(t)), "min_ms": float(t.min()),
                         "p90_ms": float(np.percentile(t, 90)), "speedup_median": base_med / float(np.median(t)),
                         "speedup_min": base_min / float(t.min()), "calibration": source})
        for runner in runners.values():
            runner.close()

    print(f"\nONNX Runtime CPU, batch 1, {args.width}x{args.height} (W x H), {args.threads} thread(s), {args.warmup} warm-up + "
          f"{args.runs} interleaved rounds, load average at the end {os.getloadavg()[0]:.2f}\n")
    print("| model | graph | median ms | min ms | p90 ms | speed-up (median) | speed-up (min) |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['model']} | {r['graph']} | {r['median_ms']:.1f} | {r['min_ms']:.1f} | {r['p90_ms']:.1f} | "
              f"{r['speedup_median']:.2f}x | {r['speedup_min']:.2f}x |")
    return record_run(args, rows)


if __name__ == "__main__":
    main()
