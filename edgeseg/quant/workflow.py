"""`edgeseg calibrate` end to end: export -> prepare -> statistics -> scales -> Q/DQ graph ->
FP32 and INT8 mIoU on val through the same ONNX Runtime runner -> (when the drop is too large)
per-layer sensitivity and float fallback -> artifacts.

Outputs in one folder:
    model.fp32.onnx          the prepared FP32 graph every name below refers to (+ manifest)
    model.int8.onnx          Q/DQ graph, TensorRT placement, signed INT8 (+ manifest with the
                             precision map, the per-method table and the mIoU figures)
    model.int8-cpu.onnx      only with cpu_unsigned: uint8 activations, ONNX Runtime CPU only
    calibration.cache        TensorRT implicit-quantization cache (TensorRT 10 / JetPack 6)
    scales.json              amax of every activation by the chosen method
    activations.npz          the statistics, reused while the model and the images are unchanged
    report.json              everything printed: methods, sensitivity, fallback steps
"""
from __future__ import annotations

import dataclasses
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import onnx

from edgeseg.artifact_format import ArtifactFormat
from edgeseg.errors import ArtifactError, InputError
from edgeseg.fileio import sha256, write_bytes, write_json
from edgeseg.manifest import Manifest
from edgeseg.precision import Precision
from edgeseg.quant import calibrators, graph, qdq
from edgeseg.quant.method import Method
from edgeseg.quant.calibset import CalibrationInputs, CalibrationSet, recipe_path
from edgeseg.quant.stats import ActivationStats, collect

Log = Callable[[str], None]


@dataclass
class Source:
    """What is calibrated: a recipe (data, calibration set, target) and the model's weights or ONNX."""

    recipe: object  # edgeseg.recipe.Recipe
    manifest: Manifest
    weights: Path | None = None
    onnx: Path | None = None


def recipe_for(name: str):
    """The one recipe in recipes/ that uses model `name`; InputError when none or several do."""
    from edgeseg.recipe import RECIPES_DIR, load_recipe

    found = [load_recipe(str(p)) for p in sorted(RECIPES_DIR.glob("*.toml"))]
    found = [r for r in found if r.model.name == name]
    if len(found) != 1:
        what = f"recipes {', '.join(r.name for r in found)} all use" if found else "no recipe uses"
        raise InputError(f"{what} model {name!r}; name the recipe as `source` or give `recipe`")
    return found[0]


def resolve_source(source: str, weights: Path | None = None, recipe: str | None = None) -> Source:
    """SOURCE is a recipe, a registered model name, or a weights (.safetensors) / ONNX artifact with
    its manifest; weights and manifest come from edgeseg.resolve, the one resolver."""
    from edgeseg.recipe import load_recipe
    from edgeseg.resolve import resolve_model

    path = Path(source)
    if path.suffix == ".onnx":
        if weights is not None:
            raise InputError("`source` is already an artifact; `weights` is for a recipe or a model name")
        manifest = Manifest.load(path)
        manifest.verify(path.parent)
        return Source(load_recipe(recipe) if recipe else recipe_for(manifest.model), manifest, onnx=path)
    found = resolve_model(source, weights)
    r = found.recipe or (load_recipe(recipe) if recipe else recipe_for(found.name))
    if found.manifest.model != r.model.name:
        raise InputError(f"{found.weights} holds {found.manifest.model!r} weights but recipe {r.name} is for {r.model.name!r}")
    return Source(r, found.manifest, weights=found.weights)


def fp32_graph(src: Source) -> tuple[onnx.ModelProto, Manifest]:
    """The prepared FP32 graph and the manifest it is described by (format onnx)."""
    if src.onnx is not None:
        return graph.prepare(src.onnx), src.manifest
    from edgeseg.backends.torch_backend import model_from_weights
    from edgeseg.export.onnx import export_onnx

    model = model_from_weights(src.weights, src.manifest)
    with tempfile.TemporaryDirectory(prefix="edgeseg-export-") as tmp:
        path = export_onnx(model, Path(tmp) / "model.onnx", src.manifest.input_size, unpool="decomposed", manifest=src.manifest)
        return graph.prepare(path), Manifest.load(path)


def save_onnx(model: onnx.ModelProto, path: Path, base: Manifest, precision: Precision, extra: dict | None = None, metrics: dict | None = None) -> Path:
    write_bytes(path, model.SerializeToString())
    m = dataclasses.replace(base, format=ArtifactFormat.ONNX, precision=precision, sha256={},
                            extra={**base.extra, **(extra or {})}, metrics={**base.metrics, **(metrics or {})})
    m.record_hash(path)
    m.save(path)
    return path


def score(model: onnx.ModelProto, manifest: Manifest, dataset, precision: Precision, max_images: int | None, progress: bool) -> dict:
    """mIoU summary of an ONNX graph on `dataset`, through the ONNX Runtime runner and `Segmenter`."""
    from edgeseg.backends.onnxruntime_backend import OnnxRuntimeRunner
    from edgeseg.eval.evaluate import evaluate
    from edgeseg.segmenter import Segmenter

    with Segmenter(OnnxRuntimeRunner(model.SerializeToString(), precision=precision), manifest) as seg:
        return evaluate(seg, dataset, max_images=max_images, progress=progress).summary(seg.classes)


@dataclass
class Options:
    methods: tuple[Method, ...] = ()  # tried, the best on val kept; none given: the recipe's calibration method
    max_miou_drop: float | None = None  # points; None: the recipe's targets.max_int8_miou_drop
    data: Path | None = None
    calib: Path | None = None
    max_images: int | None = None
    sensitivity_images: int = 8
    rank_always: bool = False  # rank layers by sensitivity even when the bound holds
    cpu_unsigned: bool = False
    tensorrt_version: str = "10.3.0"
    progress: bool = True

    def __post_init__(self) -> None:
        if self.max_miou_drop is not None and not self.max_miou_drop >= 0:  # NaN fails too
            raise InputError(f"`max_miou_drop` must be 0 or more points, got {self.max_miou_drop}")


@dataclass
class Outcome:
    fp32_miou: float
    int8_miou: float
    method: Method
    methods: dict[Method, float]
    excluded: list[str]  # kept float by the sensitivity fallback
    unsupported: list[str] = field(default_factory=list)  # kept float: no TensorRT INT8 kernel
    sensitivity: list[tuple[str, float]] = field(default_factory=list)
    fallback: list[dict] = field(default_factory=list)
    cpu_miou: float | None = None
    files: dict[str, Path] = field(default_factory=dict)


@dataclass
class CalibrationData:
    root: Path  # the dataset folder
    val: object  # its validation split (edgeseg.data.SegDataset)
    calib_path: Path
    calib: CalibrationSet


def calibration_data(recipe, data: Path | None = None, calib: Path | None = None) -> CalibrationData:
    """The recipe's validation split and its verified calibration images (under `data`, default
    the recipe's data.path); InputError or ArtifactError, before any work, when they are not there."""
    from edgeseg.data.splits import open_split, recipe_splits

    root = Path(data) if data else recipe_path(recipe, recipe.data.path)
    val = open_split(root, recipe_splits(recipe.data)[1])
    calib_path = Path(calib) if calib else recipe_path(recipe, recipe.calibration.manifest or f"calib/{recipe.name}.json")
    cs = CalibrationSet.load(calib_path)
    cs.verify(root)
    return CalibrationData(root, val, calib_path, cs)


def calibrate(src: Source, out: Path, opt: Options, log: Log = print) -> Outcome:
    from edgeseg.data.splits import Validation

    r = src.recipe
    bound = opt.max_miou_drop if opt.max_miou_drop is not None else r.targets.max_int8_miou_drop
    found = calibration_data(r, opt.data, opt.calib)
    root, val, calib_path, cs = found.root, found.val, found.calib_path, found.calib
    # The figures below are on the recipe's validation split, not on the one the weights' manifest names.
    scored_on = {"validation": Validation.of(val, None).to_dict()}
    methods = list(opt.methods) or [r.calibration.calibrator]
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()

    fp32, base = fp32_graph(src)
    files = {"fp32": save_onnx(fp32, out / "model.fp32.onnx", base, Precision.FP32)}
    inputs = CalibrationInputs(root, cs.images, base.input_size, base.mean, base.std)
    stats = _statistics(fp32, inputs, out / "activations.npz", cs, opt.progress, log)
    log(f"statistics of {len(stats)} tensors over {stats.images} calibration images ({time.perf_counter() - t0:.0f} s)")

    evaluate = lambda model, precision: 100 * score(model, base, val, precision, opt.max_images, opt.progress)["miou"]  # noqa: E731
    fp32_miou = evaluate(fp32, Precision.FP32)
    log(f"FP32 val mIoU {fp32_miou:.2f}")
    unsupported = qdq.tensorrt_int8_unsupported(fp32)
    if unsupported:
        log(f"{len(unsupported)} layers stay float: TensorRT has no INT8 kernel for their shape ({', '.join(sorted(unsupported))})")
    planned = qdq.plan(fp32, unsupported).tensors
    table, ranges = {}, {}
    for m in methods:
        ranges[m] = calibrators.compute_amax(stats, m, planned)
        table[m] = evaluate(qdq.insert_qdq(fp32, ranges[m], unsupported), Precision.INT8)
        log(f"  {str(m):<18} INT8 mIoU {table[m]:.2f}  drop {fp32_miou - table[m]:+.2f}")
    method = max(table, key=table.get)
    amax = {**calibrators.compute_amax(stats, method), **ranges[method]}
    outcome = Outcome(fp32_miou, table[method], method, table, [], unsupported=sorted(unsupported))

    too_far = fp32_miou - outcome.int8_miou > bound
    if too_far or opt.rank_always:
        if too_far:
            log(f"drop {fp32_miou - outcome.int8_miou:.2f} > {bound:.2f}: ranking layers by sensitivity on {opt.sensitivity_images} calibration images")
        from edgeseg.quant.sensitivity import layer_sensitivity

        candidates = [n.name for n in qdq.weighted_layers(fp32) if n.name not in unsupported]
        spread = inputs[:: max(1, len(inputs) // opt.sensitivity_images)][: opt.sensitivity_images]  # across sequences
        outcome.sensitivity = layer_sensitivity(fp32, amax, spread, base.num_classes, candidates)
    if too_far:
        _fallback(fp32, amax, outcome, bound, lambda model: evaluate(model, Precision.INT8), log)

    float_layers = unsupported | set(outcome.excluded)
    int8 = qdq.insert_qdq(fp32, amax, float_layers)
    from edgeseg.export.opcheck import unsupported_ops
    from edgeseg.quant.trt_cache import write_cache

    files["cache"] = write_cache(out / "calibration.cache", amax, opt.tensorrt_version)
    write_json(out / "scales.json", {"method": str(method), "qmax": qdq.QMAX, "amax": amax})
    files["scales"] = out / "scales.json"
    quant = {
        "scheme": "explicit Q/DQ in TensorRT's placement; signed INT8 activations, zero point 0, per-tensor; "
                  "per-channel symmetric INT8 weights; float bias and logits",
        "activations": "int8",  # read by backend auto: OpenVINO runs this form, not the uint8 one
        "method": str(method), "methods_val_miou_pct": {str(m): v for m, v in table.items()}, "fp32_val_miou_pct": fp32_miou, "int8_val_miou_pct": outcome.int8_miou,
        "max_miou_drop_points": bound, "within_bound": fp32_miou - outcome.int8_miou <= bound,
        "val_images": min(len(val), opt.max_images or len(val)),
        "precision_map": qdq.precision_map(fp32, float_layers),
        "float_layers": {**{n: "no TensorRT INT8 kernel for this shape" for n in sorted(unsupported)},
                         **{n: "sensitivity fallback" for n in outcome.excluded}},
        "calibration": {"manifest": str(calib_path), "images": len(cs.images), "images_sha256": cs.images_sha256},
        "tensorrt_cache": {"file": files["cache"].name, "sha256": sha256(files["cache"]), "tensorrt_version": opt.tensorrt_version},
        "tensorrt_unsupported_ops": sorted(unsupported_ops(int8)),
    }
    files["int8"] = save_onnx(int8, out / "model.int8.onnx", base, Precision.INT8, {"quantization": quant},
                              {"val_miou": outcome.int8_miou / 100, "val_miou_fp32": fp32_miou / 100, **scored_on})
    if opt.cpu_unsigned:
        from edgeseg.quant.cpu import cpu_qdq

        cpu = cpu_qdq(fp32, stats, amax, float_layers)
        outcome.cpu_miou = evaluate(cpu, Precision.INT8)
        log(f"CPU-only unsigned form: val mIoU {outcome.cpu_miou:.2f}")
        cpu_quant = {**quant, "scheme": "ONNX Runtime QDQ placement, uint8 activations: CPU ONLY, TensorRT rejects it", "activations": "uint8",
                     "int8_val_miou_pct": outcome.cpu_miou, "tensorrt_unsupported_ops": None}
        files["cpu"] = save_onnx(cpu, out / "model.int8-cpu.onnx", base, Precision.INT8, {"quantization": cpu_quant},
                                 {"val_miou": outcome.cpu_miou / 100, "val_miou_fp32": fp32_miou / 100, **scored_on})
    elif (out / "model.int8-cpu.onnx").exists():  # a stale CPU form would not match these scales
        for stale in (out / "model.int8-cpu.onnx", Manifest.path_for(out / "model.int8-cpu.onnx")):
            stale.unlink(missing_ok=True)
    outcome.files = files
    write_json(out / "report.json", {
        "source": str(src.weights or src.onnx), "recipe": r.name, **{k: v for k, v in quant.items() if k != "precision_map"},
        "excluded": outcome.excluded, "sensitivity": outcome.sensitivity, "fallback": outcome.fallback,
        "cpu_unsigned_val_miou_pct": outcome.cpu_miou, "seconds": time.perf_counter() - t0,
    })
    return outcome


def _statistics(fp32: onnx.ModelProto, inputs: CalibrationInputs, path: Path, cs: CalibrationSet, progress: bool, log: Log) -> ActivationStats:
    source = {"fp32_sha256": _digest(fp32), "images_sha256": cs.images_sha256}
    if path.is_file():
        try:
            cached = ActivationStats.load(path)
            if cached.source == source:
                log(f"reusing {path}")
                return cached
        except ArtifactError:
            pass
    if progress:
        from rich.progress import Progress

        with Progress(transient=True) as bar:
            task = bar.add_task("collecting activation statistics", total=len(inputs))
            stats = collect(fp32, inputs, on_image=lambda i: bar.update(task, completed=i))
    else:
        stats = collect(fp32, inputs)
    stats.source = source
    stats.save(path)
    return stats


def _digest(model: onnx.ModelProto) -> str:
    import hashlib

    return hashlib.sha256(model.SerializeToString()).hexdigest()


def _fallback(fp32, amax, outcome: Outcome, bound: float, evaluate: Callable, log: Log) -> None:
    """Keep the most sensitive layers in float, in growing steps, then bisect to the fewest that meet the bound."""
    ranked = [name for name, _ in outcome.sensitivity]

    def trial(k: int) -> float:
        miou = evaluate(qdq.insert_qdq(fp32, amax, frozenset(ranked[:k]) | set(outcome.unsupported)))
        outcome.fallback.append({"float_layers": k, "int8_val_miou_pct": miou})
        log(f"  {k:>3} layers in float: INT8 mIoU {miou:.2f}  drop {outcome.fp32_miou - miou:+.2f}")
        return miou

    ok = lambda miou: outcome.fp32_miou - miou <= bound  # noqa: E731
    lo, hi, step, best = 0, None, 1, {}
    while hi is None and lo < len(ranked):
        k = min(lo + step, len(ranked))
        best[k] = trial(k)
        if ok(best[k]):
            hi = k
        else:
            lo, step = k, step * 2
    if hi is None:
        log("the bound does not hold even with every layer in float: the drop comes from elsewhere")
        k = max(best, key=best.get)
    else:
        while hi - lo > 1:
            mid = (lo + hi) // 2
            best[mid] = trial(mid)
            lo, hi = (lo, mid) if ok(best[mid]) else (mid, hi)
        k = hi
    outcome.excluded, outcome.int8_miou = ranked[:k], best[k]
