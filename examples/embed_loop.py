"""Embedding edgeseg in your own process, no CLI: load an artifact once, then call it per frame.

    python examples/embed_loop.py [ARTIFACT_OR_MODEL] [--video PATH] [--backend auto] [--threaded]

ARTIFACT_OR_MODEL is an .onnx / TorchScript .pt / .safetensors artifact or engine folder, or a
registered model name with bundled weights (default: enet). The video defaults to the bundled
CamVid clip.

Two ways to drive it:
- the plain loop (default): your thread calls `seg.predict(frame)`; simplest, one frame at a time;
- `--threaded`: `edgeseg.stream.Pipeline` overlaps capture, preprocessing, inference and drawing
  in threads and hands each result to your callback; faster, and a live source keeps only the
  newest frame.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import edgeseg
from edgeseg.stream import Pipeline, open_source
from edgeseg.stream.stats import LatencyHistogram
from edgeseg.stream.sources import DEMO_CLIP


def plain_loop(seg, video) -> None:
    source = open_source(video=video)  # any Source; or read frames from your own driver
    latency = LatencyHistogram()
    road = seg.classes.index("Road") if "Road" in seg.classes else None
    while (frame := source.read()) is not None:
        t0 = time.perf_counter()
        classes = seg.predict(frame.image)  # BGR uint8 (H, W, 3) -> uint8 (H, W)
        latency.add(time.perf_counter() - t0)
        if road is not None and frame.index % 10 == 0:  # what a robot would act on
            print(f"frame {frame.index}: road covers {np.mean(classes == road):.0%} of the image")
    source.close()
    s = latency.summary_ms()
    print(f"{s['count']} frames, predict p50 {s['p50']} ms, p99 {s['p99']} ms")


def threaded(seg, video) -> None:
    def on_result(packet) -> None:  # called from the pipeline's last thread: keep it quick
        if packet.frame.index % 10 == 0:
            print(f"frame {packet.frame.index}: {len(np.unique(packet.classes))} classes in view")

    report = Pipeline(seg, open_source(video=video), on_result=on_result).run()
    print(report.text)
    report.raise_for_error()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("artifact", nargs="?", default="enet")
    ap.add_argument("--video", default=str(DEMO_CLIP))
    ap.add_argument("--backend", default="auto")
    ap.add_argument("--threaded", action="store_true")
    args = ap.parse_args()
    with edgeseg.load(args.artifact, backend=args.backend) as seg:
        print(seg)
        (threaded if args.threaded else plain_loop)(seg, args.video)


if __name__ == "__main__":
    main()
