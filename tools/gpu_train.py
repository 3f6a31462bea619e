"""Train several recipes at once on one lent GPU, inside a fixed time budget, and bring the
weights back in pieces small enough for the device tool's 16 MiB file limit.

    # here: a JPEG (quality 97, 4:4:4) copy of the data small enough to travel with the tree
    python tools/gpu_train.py pack-data ../shared/data/camvid .gpu/camvid
    # there: probe every job's speed side by side, size each schedule to the budget, train
    python tools/gpu_train.py run --data .gpu/camvid --work /tmp/gpu-runs --out $OUT --budget 540 \\
        --job enet.holdout=enet-camvid:1000 --job enet.all=enet-camvid:1000:data.holdout_sequences=[] ...
    # here again: unpack the pieces into runs/
    python tools/gpu_train.py unpack /work/.device/.../out runs/gpu

Why a driver: a GPU lease is minutes long and cannot be extended or resumed, so every run
must end (its poly schedule completed) before the lease does. The jobs run as concurrent
`edgeseg train` processes (each is bound by its own kernel launches, so they share the GPU
well); a short probe times an epoch of each with all of them running, and each job then gets
as many epochs as fit the budget, up to its cap. The run folders come back with the final
(last-epoch EMA) weights as fp16 safetensors, manifests re-hashed, plus metrics and logs.
"""
from __future__ import annotations

import argparse
import io
import json
import math
import os
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PIECE = 15 * 2**20  # under the device tool's 16 MiB per file
PROBE_EPOCHS = 3


@dataclass
class Job:
    name: str
    recipe: str
    max_epochs: int
    overrides: list[str]

    @property
    def group(self) -> str:
        """`enet` of `enet.holdout`: jobs of a group (a held-out run and its all-data twin)
        train for the same number of epochs."""
        return self.name.split(".")[0]

    @classmethod
    def parse(cls, text: str) -> "Job":
        """`group.name=recipe:max_epochs[:key=value[:key=value...]]`"""
        name, _, rest = text.partition("=")
        recipe, cap, *overrides = rest.split(":")
        return cls(name, recipe, int(cap), overrides)

    def command(self, data: str, out: Path, epochs: int, extra: list[str], device: str) -> list[str]:
        cmd = [sys.executable, str(ROOT / "cli.py"), "train", self.recipe, "--data", data, "--device", device, "--no-compile",
               "--epochs", str(epochs), "--out", str(out), "--no-progress"]
        for o in [*self.overrides, *extra]:
            cmd += ["--set", o]
        return cmd


def pack_data(src: Path, dst: Path, quality: int) -> None:
    from PIL import Image

    for listing in ("train.txt", "val.txt"):
        lines = []
        for line in (src / listing).read_text().splitlines():
            if not line.strip():
                continue
            img, lbl = line.split()
            jpg = str(Path(img).with_suffix(".jpg"))
            for rel in (jpg, lbl):
                (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            with Image.open(src / img) as im:
                im.convert("RGB").save(dst / jpg, "JPEG", quality=quality, subsampling=0)
            (dst / lbl).write_bytes((src / lbl).read_bytes())
            lines.append(f"{jpg} {lbl}")
        (dst / listing).write_text("\n".join(lines) + "\n")
    size = sum(p.stat().st_size for p in dst.rglob("*") if p.is_file())
    print(f"{dst}: {size / 2**20:.1f} MiB")


def launch(job: Job, data: str, out: Path, epochs: int, extra: list[str], device: str) -> subprocess.Popen:
    out.mkdir(parents=True, exist_ok=True)
    log = open(out / "train.log", "w")
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(job.command(data, out, epochs, extra, device), stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=env)


def rows(run: Path) -> list[dict]:
    f = run / "metrics.jsonl"
    return [json.loads(l) for l in f.read_text().splitlines() if l.strip()] if f.is_file() else []


def wait(procs: dict[str, subprocess.Popen], until: float) -> None:
    """Wait for every process; SIGTERM (the trainer stops at its next step) any still running at `until`."""
    while any(p.poll() is None for p in procs.values()):
        if time.monotonic() > until:
            for name, p in procs.items():
                if p.poll() is None:
                    print(f"{name}: past the budget, stopping it", flush=True)
                    p.terminate()
            for p in procs.values():
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
            return
        time.sleep(1)


def run(args: argparse.Namespace) -> None:
    start = time.monotonic()
    end = start + args.budget
    jobs = [Job.parse(j) for j in args.job]
    out, work = Path(args.out), Path(args.work)  # only the packed pieces go to `out`
    out.mkdir(parents=True, exist_ok=True)
    # Probe: a few epochs of every job at once, so each is timed under the load it will train in.
    # A job whose probe fails (a kernel missing in bf16, say) is probed once more in fp32.
    todo = jobs
    for attempt in range(2):
        probe = {j.name: launch(j, args.data, work / "probe" / j.name, 1000, ["train.eval_every=1", "train.checkpoint_every=1000"], args.device) for j in todo}
        until = time.monotonic() + args.probe_seconds
        while time.monotonic() < until and any(p.poll() is None and len(rows(work / "probe" / n)) < PROBE_EPOCHS for n, p in probe.items()):
            time.sleep(0.5)
        for p in probe.values():
            if p.poll() is None:
                p.kill()
                p.wait()
        failed = [j for j in todo if probe[j.name].returncode not in (0, -9) and len(rows(work / "probe" / j.name)) < 2]
        for j in failed:
            print(f"{j.name}: probe failed:\n" + (work / "probe" / j.name / "train.log").read_text()[-2000:], flush=True)
            j.overrides.append("train.precision=fp32")
        todo = failed
        if not todo:
            break
    epochs: dict[str, int] = {}
    for j in jobs:
        done = rows(work / "probe" / j.name)[1:]  # the first epoch also times cuDNN's algorithm search
        if len(done) < 2:
            print(f"{j.name}: probe gave {len(done) + 1} epochs in {args.probe_seconds:.0f} s; skipped. Its log:\n"
                  + (work / "probe" / j.name / "train.log").read_text()[-1500:], flush=True)
            continue
        # Training time per epoch, and the validation + bookkeeping that every probe epoch had;
        # a run validates about 25 times, so n epochs take n * train + 25 * overhead.
        train = sum(r["seconds"] for r in done) / len(done)
        overhead = max(0.0, (done[-1]["time"] - done[0]["time"]) / (len(done) - 1) - train)
        left = args.margin * (end - time.monotonic() - args.reserve) - 25 * overhead
        n = min(j.max_epochs, int(left / train))
        print(f"{j.name}: {train:.2f} s an epoch ({done[-1]['img_per_s']:.0f} img/s) and {overhead:.2f} s a validation with all jobs running: {n} epochs", flush=True)
        if n >= args.min_epochs:
            epochs[j.name] = n
    # Jobs of one recipe (a held-out run and its all-data twin) train for the same epochs, so the
    # held-out figure describes the twin's schedule.
    for j in jobs:
        if j.name in epochs:
            epochs[j.name] = min(epochs[k.name] for k in jobs if k.group == j.group and k.name in epochs)
    procs = {}
    for j in jobs:
        if j.name in epochs:
            n = epochs[j.name]
            every = max(5, math.ceil(n / 25))  # about 25 validations a run
            procs[j.name] = launch(j, args.data, work / "runs" / j.name, n, [f"train.eval_every={every}", f"train.checkpoint_every={n}"], args.device)
    wait(procs, end - args.reserve + 30)
    summary = []
    for j in jobs:
        if j.name not in procs:
            continue
        r = rows(work / "runs" / j.name)
        last = r[-1] if r else {}
        evals = [x for x in r if "val_miou" in x]
        summary.append({"job": j.name, "epochs_planned": epochs[j.name], "epochs_done": last.get("epoch", 0),
                        "returncode": procs[j.name].returncode, "img_per_s_median": sorted(x["img_per_s"] for x in r)[len(r) // 2] if r else None,
                        "final_val_miou": evals[-1]["val_miou"] if evals else None})
        print(json.dumps(summary[-1]), flush=True)
        print((work / "runs" / j.name / "train.log").read_text()[-600:], flush=True)
    (work / "runs").mkdir(parents=True, exist_ok=True)
    (work / "runs" / "summary.json").write_text(json.dumps(summary, indent=1))
    pack_runs(work / "runs", out)
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(f"done in {time.monotonic() - start:.0f} s", flush=True)


def pack_runs(runs: Path, out: Path) -> None:
    """Each run's weights (final, else best) as fp16 with a re-hashed manifest, its metrics,
    recipe and log, in one tar split into pieces under the 16 MiB limit."""
    import torch
    from safetensors.torch import load_file, save_file

    from edgeseg.manifest import Manifest
    from edgeseg.precision import Precision

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(runs / "summary.json", "summary.json")
        for run in sorted(p for p in runs.iterdir() if p.is_dir()):
            for name in ("metrics.jsonl", "recipe.json", "train.log"):
                if (run / name).is_file():
                    tar.add(run / name, f"{run.name}/{name}")
            pick = next((run / f for f in ("final.safetensors", "best.safetensors") if (run / f).is_file()), None)
            if pick is None:
                continue
            half = run / "fp16" / pick.name
            half.parent.mkdir(exist_ok=True)
            save_file({k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in load_file(str(pick)).items()}, str(half))
            m = Manifest.load(pick)
            m.sha256 = {}
            m.record_hash(half)
            m.precision = Precision.FP16_STORAGE
            m.extra["transfer"] = "fp16 copy of the fp32 weights, made on the GPU machine to fit its file limits"
            m.save(half)
            tar.add(half, f"{run.name}/{pick.name}")
            tar.add(Manifest.path_for(half), f"{run.name}/{pick.name}.json")
    data = buf.getvalue()
    for i in range(0, len(data), PIECE):
        (out / f"runs.tar.{i // PIECE:02d}").write_bytes(data[i : i + PIECE])
    print(f"packed {len(data) / 2**20:.1f} MiB in {math.ceil(len(data) / PIECE)} pieces", flush=True)


def unpack(src: Path, dst: Path) -> None:
    data = b"".join(p.read_bytes() for p in sorted(src.glob("runs.tar.*")))
    dst.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(dst, filter="data")
    print(f"unpacked into {dst}: {sorted(p.name for p in dst.iterdir())}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="verb", required=True)
    p = sub.add_parser("pack-data")
    p.add_argument("src", type=Path)
    p.add_argument("dst", type=Path)
    p.add_argument("--quality", type=int, default=97)
    r = sub.add_parser("run")
    r.add_argument("--data", required=True)
    r.add_argument("--work", required=True, help="run folders (large: checkpoints)")
    r.add_argument("--out", required=True, help="where the packed pieces go")
    r.add_argument("--budget", type=float, required=True, help="seconds from start to packed output")
    r.add_argument("--job", action="append", required=True, help="name=recipe:max_epochs[:key=value...]")
    # 75 s was too short for DeepLabv3+ beside six other runs on an H200 (its first epoch, cuDNN's
    # algorithm search under load, took the whole window), so it was skipped.
    r.add_argument("--probe-seconds", type=float, default=150)
    r.add_argument("--reserve", type=float, default=45, help="seconds kept for packing at the end")
    r.add_argument("--margin", type=float, default=0.85, help="share of the remaining time planned for training")
    r.add_argument("--min-epochs", type=int, default=30)
    r.add_argument("--device", default="cuda", help="cpu only to try the driver on a small job")
    u = sub.add_parser("unpack")
    u.add_argument("src", type=Path)
    u.add_argument("dst", type=Path)
    args = ap.parse_args()
    if args.verb == "pack-data":
        pack_data(args.src, args.dst, args.quality)
    elif args.verb == "run":
        run(args)
    else:
        unpack(args.src, args.dst)


if __name__ == "__main__":
    main()
