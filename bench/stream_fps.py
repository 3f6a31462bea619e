"""End-to-end stream fps against engine-only fps, for one model on one back end (run by hand).

    python bench/stream_fps.py [--model enet] [--backend compiled] [--input-size 360x480] [--repeat 3]

Engine only: `runner.infer` on one preprocessed frame, back to back after a warm-up. Stream: the
bundled CamVid clip (480x360) through the threaded pipeline with the overlay drawn and nothing
written, once from frames decoded beforehand (the pipeline alone) and once straight from the MP4
(decoding included). Speed does not depend on the weights, so without bundled ones the model runs
with random weights (and mIoU is then meaningless and not shown).
"""
from __future__ import annotations

import argparse
import os
import statistics

import torch

from edgeseg.data.palettes import CAMVID_CLASSES, CAMVID_IGNORE
from edgeseg.eval.metrics import percent
from edgeseg.export import parse_input_size
from edgeseg.manifest import Manifest
from edgeseg.registry import create_model
from edgeseg.report.bench import engine_latency, with_input_size
from edgeseg.segmenter import Segmenter
from edgeseg.stream import Pipeline, open_source
from edgeseg.stream.sources import DEMO_CLIP, ArraySource
from edgeseg.weights import WEIGHTS_DIR, pretrained_path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="enet")
    ap.add_argument("--backend", default="compiled", help="compiled: what `edgeseg run` picks on a CPU")
    ap.add_argument("--input-size", default="360x480")
    ap.add_argument("--repeat", type=int, default=3, help="alternate engine and stream runs this many times; medians are reported")
    ap.add_argument("--iters", type=int, default=60)
    args = ap.parse_args()

    size = parse_input_size(args.input_size)
    if (WEIGHTS_DIR / f"{args.model}-camvid.safetensors").is_file():
        manifest = with_input_size(Manifest.load(pretrained_path(args.model)), size)
        model, weights = create_model(args.model, num_classes=manifest.num_classes, pretrained="camvid"), "bundled CamVid weights"
    else:
        manifest = Manifest(model=args.model, num_classes=len(CAMVID_CLASSES), input_size=size, format="weights", classes=list(CAMVID_CLASSES), ignore_index=CAMVID_IGNORE)
        model, weights = create_model(args.model, num_classes=11), "random weights (none bundled yet)"
    source = open_source(video=DEMO_CLIP)
    frames = []
    while (f := source.read()) is not None:
        frames.append(f.image)
    source.close()

    with Segmenter.from_model(model, manifest, backend=args.backend) as seg:
        x = seg.preprocess(frames[0])
        engine_latency(seg.runner, x, warmup=10, iters=0)
        engine, memory, video = [], [], []
        for _ in range(args.repeat):  # interleaved, so a change in machine load hits all three alike
            h = engine_latency(seg.runner, x, warmup=2, iters=args.iters)
            engine.append(h.count / h.total)
            memory.append(Pipeline(seg, ArraySource(frames, name="clip in memory")).run().summary)
            video.append(Pipeline(seg, open_source(video=DEMO_CLIP)).run().summary)
        r = seg.runner

    e = statistics.median(engine)
    print(f"{args.model} {r.name} {r.precision} {r.device}, input {size[0]}x{size[1]}, {weights}; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    spin = {k: os.environ[k] for k in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY") if k in os.environ}
    print(f"OpenMP {spin or 'defaults'}; stream inference threads {video[-1]['inference_threads']}, engine {torch.get_num_threads()}")
    print(f"engine only            {e:6.1f} fps   (runs: {', '.join(f'{f:.1f}' for f in engine)})")
    for what, runs in (("stream, frames in RAM", memory), ("stream, MP4 decoded  ", video)):
        fps = [s["fps"] for s in runs]
        med = statistics.median(fps)
        print(f"{what}  {med:6.1f} fps = {100 * med / e:3.0f}% of engine   (runs: {', '.join(f'{f:.1f}' for f in fps)})")
    last = video[-1]["latency_ms"]
    print("per-stage p50 ms (MP4 run): " + ", ".join(f"{k} {last[k]['p50']}" for k in ("capture", "preprocess", "infer", "postprocess", "overlay", "end_to_end")))
    if video[-1]["stream_miou"] is not None and weights.startswith("bundled"):
        print(f"mIoU on the clip {percent(video[-1]['stream_miou'])}, manifest val mIoU {percent(manifest.metrics.get('val_miou'))}")


if __name__ == "__main__":
    main()
