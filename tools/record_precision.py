"""Measure what bf16 costs a weights artifact and record it in its manifest, so that `auto` may
compute it in bf16 on CPUs that run bf16 natively (edgeseg.backends.auto.default_cpu_precision).

    python tools/record_precision.py edgeseg/weights/enet-camvid.safetensors --data ../shared/data/camvid \
        --split train --split val --sequence 0006R0

tools/ship_weights.py does the same for the weights it ships; this is for weights already shipped.
Runs only on a CPU with AVX512-BF16 or AMX (elsewhere bf16 is emulated and never a default).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from edgeseg.data.splits import Split, open_split
from edgeseg.eval.precision_check import measure_precision, record_precision_check


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("weights", type=Path)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--split", action="append", default=None, help="listing(s) to score, as in `edgeseg eval` (default: val)")
    ap.add_argument("--sequence", action="append", default=[], help="only this sequence's frames; repeatable")
    args = ap.parse_args()
    dataset = open_split(args.data, Split(tuple(args.split or ["val"]), sequences=tuple(args.sequence)))
    check = measure_precision(args.weights, dataset)
    record_precision_check(args.weights, check)
    print(f"{args.weights.name}: {check.precision} on {check.backend} {100 * check.miou:.2f} against fp32 {100 * check.fp32_miou:.2f} "
          f"({check.drop_points:.2f} points lost) on {check.validation}")


if __name__ == "__main__":
    main()
