"""Latency of the deployable trio on this machine's CPU: eager vs TorchScript vs ONNX Runtime.

Every back end is timed through the same `Runner.infer` on the same input, batch 1. Rounds are
interleaved (one call per back end per round), so a background load that comes and goes hits
every back end alike. Reports median and p90 after a warm-up, as a markdown table and JSON.

    taskset -c 0,1 python bench/latency.py --threads 2 --json bench/results/latency-cpu.json

Weights are random (latency does not depend on their values); ENet is timed with both ONNX
unpool forms, and a model with PReLU also without the ONNX Runtime runner's PRelu rewrite
(edgeseg.backends.onnxruntime_backend). Run by hand, never as a timed test.
"""
from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np
from timing import record_run, time_interleaved
import torch

TRIO = ("enet", "linknet", "deeplabv3plus_mobilenetv2")


def open_runners(name: str, size: tuple[int, int], folder: Path, threads: int, optimization: str) -> dict:
    """Back-end label -> runner for one model: eager, TorchScript and ONNX Runtime per unpool form."""
    from edgeseg.backends.onnxruntime_backend import OnnxRuntimeRunner
    from edgeseg.backends.torch_backend import TorchRunner
    from edgeseg.backends.torchscript_backend import TorchScriptRunner
    from edgeseg.export.onnx import export_onnx
    from edgeseg.export.torchscript import export_torchscript
    from edgeseg.layers.unpool import UNPOOL_MODES, uses_unpool
    from edgeseg.registry import create_model

    model = create_model(name, num_classes=11).eval()
    runners = {
        "eager": TorchRunner(model, "cpu"),
        "torchscript": TorchScriptRunner(export_torchscript(model, folder / f"{name}.pt", input_size=size), "cpu"),
    }
    has_prelu = any(isinstance(m, torch.nn.PReLU) for m in model.modules())
    for unpool in UNPOOL_MODES if uses_unpool(model) else ("native",):
        path = export_onnx(model, folder / f"{name}-{unpool}.onnx", size, unpool=unpool)
        notes = [f"{unpool} unpool"] if uses_unpool(model) else []
        variants = {(): True, ("PRelu kept",): False} if has_prelu and unpool == "native" else {(): True}
        for extra, rewrite in variants.items():  # "PRelu kept": what the runner's PRelu rewrite buys
            label = "onnxruntime" + (f" ({', '.join([*notes, *extra])})" if notes or extra else "")
            runners[label] = OnnxRuntimeRunner(path, "cpu", threads=threads, optimization=optimization, rewrite_prelu=rewrite)
    return runners



def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default=",".join(TRIO), help="comma-separated registered names")
    p.add_argument("--height", type=int, default=360)
    p.add_argument("--width", type=int, default=480)
    p.add_argument("--warmup", type=int, default=5, help="rounds before timing (TorchScript optimises during its first calls)")
    p.add_argument("--runs", type=int, default=30, help="timed rounds")
    p.add_argument("--threads", type=int, default=2, help="torch intra-op threads and ONNX Runtime intra_op_num_threads")
    p.add_argument("--optimization", default="all", help="ONNX Runtime graph optimisation: disable, basic, extended, all")
    p.add_argument("--json", type=Path, help="also write the results here")
    args = p.parse_args(argv)


    torch.set_num_threads(args.threads)
    size = (args.height, args.width)
    x = np.random.default_rng(0).standard_normal((1, 3, *size)).astype(np.float32)
    rows = []
    with tempfile.TemporaryDirectory(prefix="edgeseg-bench-") as tmp:
        for name in args.models.split(","):
            runners = open_runners(name, size, Path(tmp), args.threads, args.optimization)
            times = time_interleaved(runners, x, args.warmup, args.runs)
            eager = float(np.median(times["eager"]))
            for label, t in times.items():
                rows.append({"model": name, "backend": label, "median_ms": float(np.median(t)), "p90_ms": float(np.percentile(t, 90)),
                             "min_ms": float(t.min()), "speedup_vs_eager": eager / float(np.median(t))})
            for runner in runners.values():
                runner.close()

    print(f"\nbatch 1, {args.width}x{args.height} (W x H), {args.threads} threads, {args.warmup} warm-up + {args.runs} timed rounds, "
          f"ONNX Runtime optimisation '{args.optimization}', load average at the end {os.getloadavg()[0]:.2f}\n")
    print("| model | back end | median ms | p90 ms | speed-up vs eager |")
    print("| --- | --- | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['model']} | {r['backend']} | {r['median_ms']:.1f} | {r['p90_ms']:.1f} | {r['speedup_vs_eager']:.2f}x |")
    return record_run(args, rows)


if __name__ == "__main__":
    main()
