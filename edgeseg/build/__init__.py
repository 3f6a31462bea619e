"""The build step: one folder with everything needed to deploy a model, and a manifest proving it.

    model.ts              TorchScript (scripted), for the no-TensorRT GPU path and C++ (libtorch)
    model.onnx            FP32 ONNX; max-unpool native (for the plugin) or decomposed
    model.plugin.onnx     with unpool=plugin: the graph TensorRT parses, unpooling as the plugin node
    model.fp16.onnx       TensorRT 11 with fp16: the FP16 graph a strongly typed build needs
    model.int8.onnx       with int8: the Q/DQ graph from edgeseg.quant (signed INT8, TensorRT placement)
    calibration/          with int8: what `edgeseg calibrate` writes (scales, TensorRT 10 cache, report)
    model.engine          when TensorRT and a GPU are present
    timing.cache          TensorRT's timing cache, reused by the next build of this folder
    manifest.json         hashes, versions, GPU, flags, precision map, measured mIoU and fps

The folder's manifest describes its primary artifact (the engine, else the INT8 graph, else the
FP32 graph), so `edgeseg.load(folder)` runs the best thing this machine built. What was skipped
is said in one line each, with the reason.

Modules: options (what is asked), folder (the one pass that writes), graphs (plugin, INT8 and
FP16 graphs), tensorrt (engine loaders: network from ONNX, engine bytes from network, the engine
record), engine_info (what a built engine holds), folder_manifest, measure.
"""
from edgeseg.build.folder import BuildResult, build
from edgeseg.build.options import BuildOptions, Frontend, parse_dynamic, resolve_unpool

__all__ = ["BuildOptions", "BuildResult", "Frontend", "build", "parse_dynamic", "resolve_unpool"]
