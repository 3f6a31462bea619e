"""The stream with and without the compiled runner's fused graph (BGR frames in, class maps out),
against the engine alone, in interleaved rounds.

    python bench/stream_fused.py --data ../shared/data/camvid [--model enet] [--images 100] [--rounds 3]
        [--json bench/results/stream-fused.json]

Per round: engine only (`runner.infer` on one preprocessed frame, 5 warm-up + 30 calls), then one
stream pass over the first `--images` val frames (from memory, overlay, mIoU and TC computed,
nothing written) with the fused graph, then one without it (normalisation and argmax outside the
graph, as every other back end runs). Both passes use the same compiled runner and weights.
"""
from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import numpy as np

from timing import record_run

from edgeseg.data.camvid import camvid
from edgeseg.report.bench import engine_latency
from edgeseg.segmenter import Segmenter
from edgeseg.stream import Pipeline
from edgeseg.stream.sinks import Sink
from edgeseg.stream.sources import ArraySource


class Unfused(Segmenter):
    """The same runner with its fused graph unused: every frame preprocessed, inferred, argmaxed."""

    def fused(self, frame_hw: tuple[int, int]) -> bool:
        return False


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--model", default="enet")
    ap.add_argument("--images", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    ds = camvid(args.data, "val")
    items = [ds[i] for i in range(min(args.images, len(ds)))]
    frames = [np.ascontiguousarray(rgb[:, :, ::-1]) for rgb, _ in items]
    labels = [label for _, label in items]
    fused = Segmenter.load(args.model, backend="compiled")
    unfused = Unfused(fused.runner, fused.manifest)
    rows = []
    for r in range(args.rounds):
        engine = engine_latency(fused.runner, fused.preprocess(frames[0]), 5, 30)
        row = {"round": r, "engine_p50_ms": 1e3 * engine.percentile(50), "engine_fps": engine.count / engine.total}
        for name, seg in (("fused", fused), ("unfused", unfused)):
            s = Pipeline(seg, ArraySource(frames, labels, ignore_index=ds.ignore_index), Sink()).run().summary
            row[name] = {"stream_fps": s["fps"], "miou": s["stream_miou"],
                         "stage_p50_ms": {k: v["p50"] for k, v in s["latency_ms"].items() if v["count"] and k != "end_to_end"}}
        rows.append(row)
        print(f"round {r}: engine {row['engine_fps']:.1f} fps | stream fused {row['fused']['stream_fps']:.1f} fps,"
              f" unfused {row['unfused']['stream_fps']:.1f} fps", flush=True)
    for name in ("fused", "unfused"):
        fps = statistics.median(row[name]["stream_fps"] for row in rows)
        engine = statistics.median(row["engine_fps"] for row in rows)
        print(f"{name:8s} median stream {fps:.1f} fps = {fps / engine:.0%} of the median engine {engine:.1f} fps,"
              f" mIoU {100 * rows[0][name]['miou']:.2f}")
    record_run(args, rows)


if __name__ == "__main__":
    main()
