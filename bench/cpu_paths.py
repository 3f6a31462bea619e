"""Every CPU path for a model at batch 1, timed in one interleaved run (one call per path per
round, so background load hits all alike), each checked against edgeseg eager on the same input
(the bundled clip's first frame).

ENet paths (the bundled CamVid weights):
- public eager: bench/public_enet.py, the public ports' way of writing ENet, given the same weights;
- edgeseg eager, `edgeseg.load("enet")` as a user gets it (backend auto: its one-line choice is printed);
- torch.compile (inductor, freezing, channels-last), AOTInductor .pt2, edgeseg's ONNX Runtime runner;
- bf16 on torch.compile and OpenVINO, where the CPU has AVX512-BF16 or AMX;
- a plain `onnxruntime.InferenceSession` (default options) on the file `edgeseg export` writes,
  native and decomposed unpool, and OpenVINO on the decomposed file;
`--int8-models` adds, per model, FP32 against INT8 Q/DQ graphs (bench/int8_speed.py: TensorRT
placement and the CPU form) on ONNX Runtime and OpenVINO (TensorRT form only: it crashes on the CPU
form), with random weights: speed does not depend on them, so these rows have no parity columns;
accuracy is measured by `edgeseg bench` on built artifacts (bench/README.md).

    python bench/cpu_paths.py --threads 2 --json bench/results/cpu-paths.json
    python bench/cpu_paths.py --int8-models '' --only "plain ORT"   # a few paths against edgeseg eager alone

Each round calls every path `--settle` times untimed before its timed call: a thread pool that
spins after returning (OpenMP's, a default ORT session's) takes cores from the path timed next, and
with one call a round (`--settle 0`, every run before session 9) that interference lands on the
neighbours' figures. `--only` times just the paths whose names contain one of its comma-separated
words, beside edgeseg eager.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from int8_speed import TRIO, graphs
from timing import record_run, time_interleaved


class Call:
    """A bare callable timed like a runner."""

    def __init__(self, fn) -> None:
        self.fn = fn

    def infer(self, x: np.ndarray) -> np.ndarray:
        return self.fn(x)


def plain_session(path: Path, threads: int) -> Call:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    s = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    return Call(lambda x: s.run(None, {s.get_inputs()[0].name: x})[0])


def first_clip_frame(size) -> np.ndarray:
    """The bundled clip's first frame as ENet's input: the parity columns compare class maps on a
    real street scene (on noise, INT8 graphs calibrated on streets saturate and agree on nothing)."""
    import cv2

    from edgeseg.preprocess import frame_to_input
    from edgeseg.resolve import resolve_model
    from edgeseg.stream.sources import DEMO_CLIP

    cap = cv2.VideoCapture(str(DEMO_CLIP))
    ok, frame = cap.read()
    cap.release()
    assert ok, f"cannot read {DEMO_CLIP}"
    m = resolve_model("enet").manifest
    return frame_to_input(frame, size, m.mean, m.std)


def enet_paths(size, threads: int, folder: Path, log) -> dict:
    import torch
    from public_enet import PublicENet, copy_weights

    import edgeseg
    from edgeseg.backends.compiled_backend import CompiledRunner
    from edgeseg.backends.aoti_backend import AOTIRunner
    from edgeseg.backends.onnxruntime_backend import OnnxRuntimeRunner
    from edgeseg.backends.openvino_backend import OpenVinoRunner
    from edgeseg.backends.torch_backend import TorchRunner
    from edgeseg.export.onnx import export_onnx
    from edgeseg.export.pt2 import export_pt2
    from edgeseg.hardware import cpu_has_bf16
    from edgeseg.registry import create_model

    def weights():
        return create_model("enet", num_classes=11, pretrained="camvid").eval()

    public = PublicENet().eval()
    assert copy_weights(weights(), public)
    paths = {"public eager": TorchRunner(public, "cpu"), "edgeseg eager": TorchRunner(weights(), "cpu")}
    native = export_onnx(weights(), folder / "enet-native.onnx", size, unpool="native", optimize=True)
    decomposed = export_onnx(weights(), folder / "enet-decomposed.onnx", size, unpool="decomposed", optimize=True)
    paths["onnxruntime runner (native)"] = OnnxRuntimeRunner(native, "cpu", threads=threads)
    paths["plain ORT session (native file)"] = plain_session(native, threads)
    paths["plain ORT session (decomposed file)"] = plain_session(decomposed, threads)
    paths["openvino fp32 (decomposed file)"] = OpenVinoRunner(decomposed, threads=threads)
    t0 = time.perf_counter()
    pt2 = export_pt2(weights(), folder / "enet.pt2", size)
    log(f"AOTInductor export: {time.perf_counter() - t0:.0f} s")
    paths["aoti .pt2"] = AOTIRunner(pt2, size)
    compiled = CompiledRunner(weights())
    compiled.infer(np.zeros((1, 3, *size), np.float32))  # compiles
    log(f"torch.compile: {compiled.detail}")
    paths["torch.compile"] = compiled
    if cpu_has_bf16():  # emulated elsewhere, slower than fp32: the back ends refuse it
        paths["torch.compile bf16"] = CompiledRunner(weights(), precision="bf16")
        paths["openvino bf16 (decomposed file)"] = OpenVinoRunner(decomposed, precision="bf16", threads=threads)
    else:
        log("no bf16 rows: this CPU has neither avx512_bf16 nor amx_bf16")
    seg = edgeseg.load("enet", device="cpu")
    log(f'edgeseg.load("enet"): {seg.runner.selection}; {seg.runner.detail}')
    paths['edgeseg.load("enet") default'] = seg.runner
    return paths


def int8_paths(name: str, size, threads: int) -> dict:
    from edgeseg.backends.onnxruntime_backend import OnnxRuntimeRunner
    from edgeseg.backends.openvino_backend import OpenVinoRunner
    from edgeseg.export.rewrite import optimize_onnx

    models, _ = graphs(name, TRIO[name], size, 8)
    fp32 = optimize_onnx(models["fp32"])
    paths = {f"{name} onnxruntime fp32": OnnxRuntimeRunner(fp32, "cpu", threads=threads),
             f"{name} openvino fp32": OpenVinoRunner(fp32, threads=threads)}
    for form in ("int8 tensorrt-form", "int8 cpu-form"):
        paths[f"{name} onnxruntime {form}"] = OnnxRuntimeRunner(models[form], "cpu", threads=threads, precision="int8")
    # OpenVINO segfaults compiling the cpu-form graph (see edgeseg/backends/openvino_backend.py)
    paths[f"{name} openvino int8 tensorrt-form"] = OpenVinoRunner(models["int8 tensorrt-form"], precision="int8", threads=threads)
    return paths


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--height", type=int, default=360)
    p.add_argument("--width", type=int, default=480)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--runs", type=int, default=15, help="timed rounds")
    p.add_argument("--settle", type=int, default=2, help="untimed calls of a path before its timed one, each round")
    p.add_argument("--int8-models", default="enet,linknet,deeplabv3plus_mobilenetv2", help="models whose FP32 and INT8 graphs are also timed ('' for none)")
    p.add_argument("--only", default="", help="comma-separated words: time only the ENet paths whose names contain one (edgeseg eager always)")
    p.add_argument("--json", type=Path, help="also write the results here")
    args = p.parse_args(argv)
    only = [w for w in args.only.split(",") if w]

    import torch

    torch.set_num_threads(args.threads)
    size = (args.height, args.width)
    x = first_clip_frame(size)
    notes: list[str] = []

    def log(line: str) -> None:
        notes.append(line)
        print(line, flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        paths = enet_paths(size, args.threads, Path(tmp), log)
        if only:
            paths = {k: r for k, r in paths.items() if k == "edgeseg eager" or any(w in k for w in only)}
        ref = paths["edgeseg eager"].infer(x)
        checks = {}  # ENet paths against edgeseg eager: (max |diff| of logits, argmax agreement)
        for label, r in paths.items():
            out = r.infer(x)
            checks[label] = (float(np.abs(out - ref).max()), float((out.argmax(1) == ref.argmax(1)).mean()))
        for name in filter(None, args.int8_models.split(",")):
            paths.update(int8_paths(name, size, args.threads))
        times = time_interleaved(paths, x, args.warmup, args.runs, args.settle)
    eager = float(np.median(times["edgeseg eager"]))
    rows = []
    for label, t in times.items():
        med = float(np.median(t))
        diff, agree = checks.get(label, (None, None))
        rows.append({"path": label, "median_ms": med, "min_ms": float(t.min()), "p90_ms": float(np.percentile(t, 90)),
                     "speedup_vs_edgeseg_eager": eager / med, "max_abs_diff_vs_eager": diff, "argmax_agreement": agree})
    print(f"\nbatch 1, {args.width}x{args.height} (W x H), {args.threads} threads, {args.warmup} warm-up + {args.runs} interleaved rounds ({args.settle} untimed calls before each timed one), "
          f"load average at the end {os.getloadavg()[0]:.2f}\n")
    print("| path | median ms | min ms | x edgeseg eager | max abs diff | argmax agree |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        d = "-" if r["max_abs_diff_vs_eager"] is None else f"{r['max_abs_diff_vs_eager']:.1e}"
        a = "-" if r["argmax_agreement"] is None else f"{100 * r['argmax_agreement']:.2f}%"
        print(f"| {r['path']} | {r['median_ms']:.1f} | {r['min_ms']:.1f} | {r['speedup_vs_edgeseg_eager']:.2f}x | {d} | {a} |")
    for n in notes:
        print(n)
    return record_run(args, rows + [{"note": n} for n in notes])


if __name__ == "__main__":
    main()
