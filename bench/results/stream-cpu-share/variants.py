"""Before/after of the stream's CPU share, one interleaved run (scratch; results/stream-cpu-share/variants.txt)."""
import contextlib, statistics, sys, time
import numpy as np, torch
import edgeseg
from edgeseg.eval import metrics
from edgeseg.eval.timing import time_interleaved
from edgeseg.stream import Pipeline, open_source
from edgeseg.stream import pipeline as pl
from edgeseg.stream.sources import DEMO_CLIP, ArraySource
from edgeseg.preprocess import check_frame, _resize

def torch_preprocess(frame_bgr, input_size, mean, std):  # frame_to_input as it was (session 12)
    check_frame(frame_bgr)
    x = torch.from_numpy(np.ascontiguousarray(frame_bgr[:, :, ::-1].transpose(2, 0, 1)))[None].float()
    x = _resize(x, input_size)
    scale = torch.tensor([1.0 / (255.0 * s) for s in std]).view(1, 3, 1, 1)
    shift = torch.tensor([-m / s for m, s in zip(mean, std)]).view(1, 3, 1, 1)
    return (x * scale + shift).numpy()

def numpy_count(self, pred, target):  # _count_all_rows as it was (session 12)
    n = self.num_classes
    rows = int(target.max()) + 1
    counts = np.bincount(target.astype(np.intp) * n + pred, minlength=rows * n).reshape(rows, n)[:n].copy()
    if self.ignore_index is not None and self.ignore_index < len(counts):
        counts[self.ignore_index] = 0
    return np.pad(counts, ((0, n - len(counts)), (0, 0)))

src = open_source(video=DEMO_CLIP); frames, labels = [], []
while (f := src.read()) is not None: frames.append(f.image); labels.append(f.label)
src.close()
seg = edgeseg.load(sys.argv[1]); ig = seg.manifest.ignore_index; m = seg.manifest
x = seg.preprocess(frames[0])
time_interleaved({"e": lambda: seg.runner.infer(x)}, warmup=10, runs=0)
new_pre, new_ctx, new_count = seg.preprocess, pl._opencv_on_the_stage_threads, metrics.ConfusionMatrix._count_all_rows
variants = {
    "before (session 12)": (False, False, False),
    "numpy preprocessing": (True, False, False),
    "+ OpenCV on the stage threads": (True, True, False),
    "+ byte index in bincount (now)": (True, True, True),
}
fps = {k: [] for k in variants}; cpu = {k: [] for k in variants}; eng_fps, eng_cpu = [], []
for r in range(3):
    c0 = time.process_time(); s = time_interleaved({"e": lambda: seg.runner.infer(x)}, warmup=2, runs=60)["e"]
    eng_cpu.append((time.process_time() - c0) / 62 * 1e3); eng_fps.append(len(s) / s.sum())
    for k, (pre, ctx, count) in variants.items():
        seg.preprocess = new_pre if pre else (lambda f: torch_preprocess(f, m.input_size, m.mean, m.std))
        pl._opencv_on_the_stage_threads = new_ctx if ctx else contextlib.nullcontext
        metrics.ConfusionMatrix._count_all_rows = new_count if count else numpy_count
        c0 = time.process_time()
        sm = Pipeline(seg, ArraySource(frames * 2, labels * 2, ignore_index=ig)).run().summary
        cpu[k].append((time.process_time() - c0) / sm["frames"]["processed"] * 1e3); fps[k].append(sm["fps"])
        assert abs(sm["stream_miou"] - 0) > 0
seg.preprocess, pl._opencv_on_the_stage_threads, metrics.ConfusionMatrix._count_all_rows = new_pre, new_ctx, new_count
e, ec = statistics.median(eng_fps), statistics.median(eng_cpu)
print(f"{m.model} {seg.runner.name} {seg.runner.precision}; clip in RAM twice (120 frames), 3 rounds interleaved")
print(f"{'engine, logits':32s} {e:6.1f} fps   CPU {ec:5.2f} ms/frame   runs {[round(float(a), 1) for a in eng_fps]}")
for k in variants:
    f, c = statistics.median(fps[k]), statistics.median(cpu[k])
    print(f"{k:32s} {f:6.1f} fps = {100 * f / e:3.0f}%   CPU {c:5.2f} ms/frame (engine/this {100 * ec / c:3.0f}%)   runs {[round(a, 1) for a in fps[k]]}")
