"""Segment a live or recorded stream, overlaying classes, fps, per-stage latency and the artifact's mIoU.

With no source it plays the bundled CamVid clip, whose labels give the stream's mIoU beside its fps.
Stops at the end of a file, at --max-frames, on Ctrl-C, SIGTERM or SIGHUP, or when a camera stays gone after --retries.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from edgeseg.precision import BF16_MAX_DROP_POINTS


def main(
    camera: Optional[str] = typer.Option(None, help="Camera: index (0), V4L2 device (/dev/video0), Jetson CSI sensor (csi://0, optionally ?width=1280&height=720&fps=30) or a GStreamer pipeline ending in appsink."),
    video: Optional[Path] = typer.Option(None, help="Video file, every frame in order; ground truth is read from <stem>.labels.npz beside it if present."),
    rtsp: Optional[str] = typer.Option(None, help="RTSP stream URL."),
    images: Optional[Path] = typer.Option(None, help="Folder of images, played in name order."),
    labels: Optional[Path] = typer.Option(None, help="Ground truth for --video (.labels.npz) or --images (folder of class-index PNGs named like the images)."),
    model: Optional[str] = typer.Option(None, help="Registered model name, run with its bundled CamVid weights (default: enet)."),
    artifact: Optional[Path] = typer.Option(None, help="Artifact to run: .onnx, TorchScript .pt/.ts, .safetensors, or an engine folder with manifest.json."),
    backend: str = typer.Option("auto", help="auto (the fastest here, said in one line), torch, torchscript, onnxruntime, tensorrt, compiled (torch.compile), aoti (.pt2) or openvino."),
    device: Optional[str] = typer.Option(None, help="cpu or cuda (default: cuda when the back end sees one)."),
    precision: Optional[str] = typer.Option(None, help=f"fp32, or bf16: run weights or an FP32 ONNX in bf16 (compiled or openvino; CPUs with AVX512-BF16 or AMX). Default: the artifact's own; weights under backend auto compute in bf16 where the CPU does so natively and their manifest shows it costs at most {BF16_MAX_DROP_POINTS} mIoU points."),
    show: bool = typer.Option(False, "--show", help="Show a window (the default when a display exists and no --out is given)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write the overlaid stream to this .mp4 or .avi (atomically)."),
    headless: bool = typer.Option(False, "--headless", help="No window, no file: measure only (the default without a display)."),
    alpha: float = typer.Option(0.5, min=0.0, max=1.0, help="Opacity of the class colours over the frame."),
    max_frames: Optional[int] = typer.Option(None, min=1, help="Stop after this many frames out."),
    stats: Optional[Path] = typer.Option(None, "--stats", help="Write the run's statistics (latency percentiles, fps, drops, stability, mIoU) to this JSON file."),
    retries: int = typer.Option(3, min=0, help="Reconnection attempts for a camera or RTSP stream that stops delivering."),
    crf: bool = typer.Option(False, "--crf", help="Refine each class map with a dense CRF (DeepLab v1/v2 post-processing; about 1 s per 480x360 frame on a CPU)."),
) -> None:
    import time
    from contextlib import ExitStack

    import edgeseg
    from edgeseg.errors import InputError
    from edgeseg.fileio import write_json
    from edgeseg.outputs import check_distinct, check_file
    from edgeseg.stream import Pipeline, open_source
    from edgeseg.stream.opencv import cv2_module, display_problem
    from edgeseg.stream.sinks import Sink, VideoSink, WindowSink
    from edgeseg.stream.sources import DEMO_CLIP

    if model is not None and artifact is not None:
        raise InputError("give --model or --artifact, not both")
    if show + headless + (out is not None) > 1:
        raise InputError("give at most one of --show, --out and --headless")
    demo = camera is rtsp is video is images is None
    if demo:
        video = DEMO_CLIP
    if stats is not None:
        check_file(stats, "--stats")
    check_distinct({"--out": out, "--stats": stats}, {"--video": video, "--labels": labels, "--artifact": artifact})

    with ExitStack() as cleanup:  # until the pipeline owns them
        source = open_source(camera=camera, video=video, rtsp=rtsp, images=images, labels=labels, retries=retries)
        cleanup.callback(source.close)
        if out is not None:
            sink = VideoSink(out, fps=source.fps)
        else:
            problem = None if headless else display_problem(cv2_module("showing a window"))
            if show and problem:
                typer.echo(f"--show needs a display: {problem}; running headless", err=True)
            sink = WindowSink() if not headless and not problem else Sink()
        cleanup.callback(sink.close)
        t0 = time.perf_counter()
        seg = edgeseg.load(artifact if artifact is not None else (model or "enet"), backend=backend, device=device, precision=precision)
        load_s = time.perf_counter() - t0
        seg.crf = crf
        cleanup.callback(seg.close)
        pipeline = Pipeline(seg, source, sink, alpha=alpha, max_frames=max_frames)
        cleanup.pop_all()

    with seg:
        r = seg.runner
        for line in (r.selection, r.detail):
            if line:
                typer.echo(line)
        typer.echo(f"running {seg.manifest.model} ({r.name} {r.precision} {r.device}) on {source.name}"
                   f"{f' -> {out}' if out else ''}; loaded in {load_s:.1f} s; Ctrl-C stops")
        if demo:
            typer.echo("the bundled clip is 60 frames of CamVid drive 0016E5, which every bundled model trained on (the trio "
                       "on these very frames): its mIoU shows the pipeline at work, not accuracy on unseen streets; "
                       "for that, see the manifest's held-out figure (edgeseg/assets/README.md)")
        report = pipeline.run()
    report.summary["load_s"] = load_s  # start-up, with the warm-up inference: not in fps
    typer.echo(report.text)
    if stats is not None:
        write_json(stats, report.summary)
        typer.echo(f"wrote {stats}")
    if report.output is not None:
        typer.echo(f"wrote {report.output}")
    if report.summary["signal"]:
        typer.echo(f"stopped by {report.summary['signal']} after {report.summary['frames']['processed']} frames; what they gave is written", err=True)
    report.raise_for_error()  # an EdgesegError becomes one line and exit code 2; anything else is a bug
