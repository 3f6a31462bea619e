"""End-to-end stream fps against engine-only fps, on the path a user gets (run by hand).

    python bench/stream_fps.py [enet] [--backend auto] [--precision bf16] [--repeat 3] [--iters 60]

The model loads as `edgeseg.load(name)` does (backend auto, the default precision), and its line
says which back end and precision that took. Each round times, interleaved so that a change in
machine load hits all alike:
- engine, logits: `runner.infer` on one preprocessed frame, back to back;
- engine, class map: `runner.infer_classes`, the argmax inside the graph, where the runner fuses it;
- the stream over the bundled CamVid clip (480x360, 0016E5) decoded beforehand, with its labels,
  so mIoU and the flow-warped TC are computed as `edgeseg run` computes them; headless;
- the same straight from the MP4 (decoding included).
The stream / engine ratio is taken against the logits engine: the network alone, no argmax at all.
Beside fps, each path's process CPU time per frame (all threads; a stream's includes its one
warm-up inference, spread over its frames): on a CPU whose cores the network fills, the stream can
reach only the engine's CPU per frame over its own, and this figure is far less noisy than fps.
The clip's frames are from a drive every bundled model trained on (0016E5): its mIoU here is a
fidelity figure, not an accuracy one.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import edgeseg
from edgeseg.eval.metrics import percent
from edgeseg.eval.timing import time_interleaved
from edgeseg.stream import Pipeline, open_source
from edgeseg.stream.sources import DEMO_CLIP, ArraySource


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", nargs="?", default="enet", help="a registered name (its bundled weights) or an artifact path")
    ap.add_argument("--backend", default="auto")
    ap.add_argument("--precision", default=None, help="default: what edgeseg.load picks")
    ap.add_argument("--repeat", type=int, default=3, help="rounds; medians are reported")
    ap.add_argument("--iters", type=int, default=60, help="timed engine calls per round")
    args = ap.parse_args()

    source = open_source(video=DEMO_CLIP)
    frames, labels = [], []
    while (f := source.read()) is not None:
        frames.append(f.image)
        labels.append(f.label)
    source.close()
    labelled = all(label is not None for label in labels)

    with edgeseg.load(args.model, backend=args.backend, precision=args.precision) as seg:
        r, x = seg.runner, seg.preprocess(frames[0])
        calls = {"engine, logits": lambda: r.infer(x)}
        if seg.argmax_in_runner(frames[0].shape[:2]):
            calls["engine, class map"] = lambda: seg.infer_classes(x)
        time_interleaved(calls, warmup=10, runs=0)
        engine: dict[str, list[float]] = {k: [] for k in calls}
        memory, video, cpu = [], [], {"engine, logits": [], "stream, frames in RAM": [], "stream, MP4 decoded": []}

        def stream(source) -> dict:
            before = time.process_time()
            summary = Pipeline(seg, source).run().summary
            summary["cpu_ms_per_frame"] = 1e3 * (time.process_time() - before) / summary["frames"]["processed"]
            return summary

        for _ in range(args.repeat):
            for k, seconds in time_interleaved(calls, warmup=2, runs=args.iters).items():
                engine[k].append(len(seconds) / float(seconds.sum()))
            before = time.process_time()
            time_interleaved({"engine, logits": calls["engine, logits"]}, warmup=0, runs=args.iters)
            cpu["engine, logits"].append(1e3 * (time.process_time() - before) / args.iters)
            memory.append(stream(ArraySource(frames, labels if labelled else None, ignore_index=seg.manifest.ignore_index, name="clip in memory")))
            video.append(stream(open_source(video=DEMO_CLIP)))
            cpu["stream, frames in RAM"].append(memory[-1]["cpu_ms_per_frame"])
            cpu["stream, MP4 decoded"].append(video[-1]["cpu_ms_per_frame"])

    print(f"{seg.manifest.model} {r.name} {r.precision} {r.device}, input {seg.input_size[0]}x{seg.input_size[1]}; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    if r.selection:
        print(r.selection)
    threads = video[-1]["inference_threads"]
    print(f"stream inference threads: {threads or 'those of the back end'}")
    base = statistics.median(engine["engine, logits"])
    for k, runs in engine.items():
        print(f"{k:22s} {statistics.median(runs):6.1f} fps   (runs: {', '.join(f'{f:.1f}' for f in runs)})")
    for what, runs in (("stream, frames in RAM", memory), ("stream, MP4 decoded", video)):
        fps = [s["fps"] for s in runs]
        med = statistics.median(fps)
        print(f"{what:22s} {med:6.1f} fps = {100 * med / base:3.0f}% of the logits engine   (runs: {', '.join(f'{f:.1f}' for f in fps)})")
    engine_cpu = statistics.median(cpu["engine, logits"])
    for k, runs in cpu.items():
        med = statistics.median(runs)
        print(f"CPU ms per frame, {k:22s} {med:5.2f} (engine / this {100 * engine_cpu / med:3.0f}%; runs: {', '.join(f'{c:.2f}' for c in runs)})")
    last = memory[-1]["latency_ms"]
    print("per-stage p50 ms (last in-RAM run): " + ", ".join(f"{k} {last[k]['p50']}" for k in ("capture", "preprocess", "infer", "postprocess", "overlay", "metrics", "end_to_end")))
    if memory[-1]["stream_miou"] is not None:
        print(f"mIoU on the clip {percent(memory[-1]['stream_miou'])} (0016E5: frames of a drive every bundled model trained on), "
              f"TC {percent(memory[-1]['temporal_consistency'])}")


if __name__ == "__main__":
    main()
