"""INT8 by explicit quantization: activation statistics from the FP32 ONNX model, our own
calibrators (max, percentile, entropy, MSE), Q/DQ insertion in TensorRT's placement, a TensorRT
calibration cache from the same scales, and per-layer sensitivity to keep the worst layers in
float. See edgeseg/quant/README.md for which library does what.
"""
