"""mIoU gain and cost per frame of the dense CRF (edgeseg.postprocess.crf) on a model's predictions.

    python bench/crf_gain.py ARTIFACT --data /work/shared/data/camvid --split val --max-images 30

ARTIFACT is anything `edgeseg.load` opens (weights, TorchScript, ONNX). Each frame goes through
`Segmenter.predict_logits` as in deployment; the softmax of those logits is refined by
`dense_crf` against the RGB frame; both class maps are scored in one confusion matrix each
(mIoU over all pixels of the images, void ignored). Reports mIoU and pixel accuracy with and
without the CRF and the CRF's milliseconds per frame (the network's time is not included).
Run by hand, never as a timed test.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("artifact")
    p.add_argument("--data", required=True, help="dataset folder (CamVid layout or image folder)")
    p.add_argument("--split", default="val")
    p.add_argument("--max-images", type=int, default=30)
    p.add_argument("--iterations", type=int, default=5)
    p.add_argument("--w-bilateral", type=float, default=4.0)
    p.add_argument("--sxy-bilateral", type=float, default=60.0)
    p.add_argument("--srgb", type=float, default=10.0)
    p.add_argument("--w-gauss", type=float, default=3.0)
    p.add_argument("--sxy-gauss", type=float, default=3.0)
    p.add_argument("--json", type=Path, help="also write the results here")
    args = p.parse_args(argv)

    import edgeseg
    from edgeseg.data import open_dataset
    from edgeseg.eval.metrics import ConfusionMatrix
    from edgeseg.fileio import write_json
    from edgeseg.postprocess.crf import dense_crf

    data = open_dataset(args.data, args.split)
    n = min(len(data), args.max_images)
    crf_kw = dict(iterations=args.iterations, w_bilateral=args.w_bilateral, sxy_bilateral=args.sxy_bilateral,
                  srgb=args.srgb, w_gauss=args.w_gauss, sxy_gauss=args.sxy_gauss)
    times = []
    with edgeseg.load(args.artifact) as seg:
        before = ConfusionMatrix(seg.num_classes, data.ignore_index)
        after = ConfusionMatrix(seg.num_classes, data.ignore_index)
        for i in range(n):
            rgb, label = data[i]
            logits = seg.predict_logits(np.ascontiguousarray(rgb[..., ::-1]))
            probs = np.exp(logits - logits.max(0, keepdims=True))
            probs /= probs.sum(0, keepdims=True)
            start = time.perf_counter()
            refined = dense_crf(rgb, probs.astype(np.float32), **crf_kw)
            times.append(1000 * (time.perf_counter() - start))
            before.update(probs.argmax(0), label)
            after.update(refined.argmax(0), label)
    result = {
        "artifact": args.artifact, "images": n, "crf": crf_kw,
        "miou": [before.miou(), after.miou()], "pixel_accuracy": [before.pixel_accuracy(), after.pixel_accuracy()],
        "crf_ms_per_frame": float(np.median(times)),
    }
    print(f"{n} images: mIoU {before.miou():.4f} -> {after.miou():.4f} ({after.miou() - before.miou():+.4f}), "
          f"pixel accuracy {before.pixel_accuracy():.4f} -> {after.pixel_accuracy():.4f}, "
          f"CRF {result['crf_ms_per_frame']:.0f} ms/frame (median)")
    if args.json:
        write_json(args.json, result)
    return result


if __name__ == "__main__":
    main()
