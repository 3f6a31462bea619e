"""Build the bundled demo clip: consecutive CamVid val frames (sequence 0016E5) as an MP4, with
their labels beside it as `<clip>.labels.npz`, so `edgeseg run` shows fps *and* mIoU on a fresh
machine with no camera.

    python tools/make_demo_clip.py [--camvid ../shared/data/camvid] [--frames 60]

CamVid's 0016E5 val frames are every second frame of a 30 fps drive, so the clip plays at 15 fps.
"""
from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np

from edgeseg.data.camvid import camvid
from edgeseg.data.palettes import CAMVID_CLASSES, CAMVID_IGNORE
from edgeseg.stream.opencv import cv2_module
from edgeseg.stream.sinks import VideoSink

ASSETS = Path(__file__).resolve().parent.parent / "edgeseg" / "assets"
NAME = "camvid-0016E5"


def consecutive_run(names: list[str], sequence: str, n: int) -> list[int]:
    """Indices of the first `n` frames of `sequence` whose numbers step evenly (no gap)."""
    numbered = [(i, int(m.group(1))) for i, s in enumerate(names) if (m := re.fullmatch(rf"{sequence}_(\d+)", s))]
    if len(numbered) < n:
        raise SystemExit(f"only {len(numbered)} frames of {sequence} in the split, asked for {n}")
    step = numbered[1][1] - numbered[0][1]
    run = numbered[:n]
    if any(b[1] - a[1] != step for a, b in zip(run, run[1:])):
        raise SystemExit(f"the first {n} frames of {sequence} are not evenly spaced")
    return [i for i, _ in run]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--camvid", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data" / "camvid")
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--fps", type=float, default=15.0)
    ap.add_argument("--out", type=Path, default=ASSETS)
    args = ap.parse_args()

    cv2 = cv2_module("writing the demo clip")
    data = camvid(args.camvid, "val")
    picked = consecutive_run([p.stem for p, _ in data.pairs], "0016E5", args.frames)
    sink = VideoSink(args.out / f"{NAME}.mp4", fps=args.fps)
    labels = []
    for i in picked:
        rgb, label = data[i]
        sink.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        labels.append(label)
    video = sink.close()
    side = args.out / f"{NAME}.labels.npz"
    np.savez_compressed(side, labels=np.stack(labels), classes=np.array(CAMVID_CLASSES), ignore_index=CAMVID_IGNORE,
                        frames=np.array([data.pairs[i][0].name for i in picked]))
    size = (video.stat().st_size + side.stat().st_size) / 1e6
    print(f"wrote {video} and {side.name}: {len(picked)} frames, {data.pairs[picked[0]][0].stem} .. {data.pairs[picked[-1]][0].stem}, {size:.2f} MB")


if __name__ == "__main__":
    main()
