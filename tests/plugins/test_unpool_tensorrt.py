"""The plugin inside TensorRT. Without TensorRT or a GPU only the guards and the CMake project are
checked here; the engine tests skip with the reason and run on a machine that has both."""
import shutil
import subprocess

import numpy as np
import onnx
import pytest

from edgeseg.backends.tensorrt_host import tensorrt_unavailable
from edgeseg.errors import MissingDependencyError
from edgeseg.plugins import UnpoolPlugin, kernel_source_path
from edgeseg.plugins import triton_kernel
from edgeseg.plugins.reference import max_unpool_from_source

NO_ENGINE = tensorrt_unavailable()


def test_triton_module_imports_and_says_what_to_install():
    if triton_kernel.AVAILABLE:
        pytest.skip("Triton is installed: covered by the GPU test below")
    with pytest.raises(MissingDependencyError, match="pip install triton"):
        triton_kernel.max_unpool_triton(None, None)


@pytest.mark.skipif(NO_ENGINE is None, reason="TensorRT is installed here")
def test_python_plugin_registration_needs_tensorrt():
    from edgeseg.plugins.tensorrt_plugin import register

    with pytest.raises(MissingDependencyError, match="edgeseg\\[tensorrt\\]"):
        register((8, 7))


@pytest.mark.skipif(shutil.which("cmake") is None or shutil.which("nvcc") is None, reason="cmake or nvcc is not installed")
def test_cpp_project_configures_up_to_the_tensorrt_check(tmp_path):
    """Without TensorRT headers (never vendored) the C++ plugin cannot compile; CMake must get
    as far as finding CUDA and then say exactly what is missing."""
    done = subprocess.run(["cmake", "-S", str(kernel_source_path().parent / "cpp"), "-B", str(tmp_path), "-DTENSORRT_ROOT=/nonexistent"],
                          capture_output=True, text=True)
    if done.returncode == 0:
        pytest.skip("TensorRT headers were found: the library builds here")
    assert "TensorRT headers or libnvinfer not found" in done.stderr


@pytest.mark.gpu
@pytest.mark.skipif(not triton_kernel.AVAILABLE, reason="Triton is not installed (and has no CPU back end)")
def test_triton_kernel_matches_reference_on_gpu():
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU")
    rng = np.random.default_rng(0)
    for shape, kernel in [((2, 3, 8, 12), (2, 2)), ((1, 2, 7, 9), (2, 2)), ((1, 2, 9, 8), (3, 2))]:
        source = rng.integers(0, 3, size=shape).astype(np.float32)
        values = rng.normal(size=(shape[0], shape[1], shape[2] // kernel[0], shape[3] // kernel[1])).astype(np.float32)
        got = triton_kernel.max_unpool_triton(torch.from_numpy(values).cuda(), torch.from_numpy(source).cuda(), kernel)
        np.testing.assert_array_equal(got.cpu().numpy(), max_unpool_from_source(values, source, kernel))


@pytest.mark.gpu
@pytest.mark.tensorrt
@pytest.mark.skipif(NO_ENGINE is not None, reason=f"no engine can be built here: {NO_ENGINE}")
@pytest.mark.parametrize("impl", [UnpoolPlugin.QDP_AOT, UnpoolPlugin.CPP])
def test_plugin_engine_matches_onnxruntime_on_the_native_graph(tmp_path, impl):
    from edgeseg.build.tensorrt import EngineSpec, build_engine
    from edgeseg.plugins.loading import find_cpp_plugin_library, unpool_plugin_options
    from edgeseg.export.onnx import onnx_bytes
    from edgeseg.plugins.onnx_rewrite import to_plugin_graph
    from test_unpool_rewrite import TwoLevels, tied

    if impl not in unpool_plugin_options():
        pytest.skip(f"{impl} is not available with this TensorRT (have: {unpool_plugin_options()})")
    import onnxruntime as ort
    import tensorrt as trt
    import torch

    native = onnx.load_from_string(onnx_bytes(TwoLevels(), (16, 24), "native"))
    plugin, _ = to_plugin_graph(native, aot=impl is UnpoolPlugin.QDP_AOT)
    path = tmp_path / "plugin.onnx"
    onnx.save(plugin, str(path))
    built = build_engine(EngineSpec(path, plugin=impl, plugin_library=find_cpp_plugin_library()))
    x = tied((1, 3, 16, 24))
    want = ort.InferenceSession(native.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]
    engine = trt.Runtime(trt.Logger(trt.Logger.WARNING)).deserialize_cuda_engine(built.plan)
    context = engine.create_execution_context()
    inp, out = torch.from_numpy(x).cuda(), torch.empty(want.shape, device="cuda")
    context.set_tensor_address("input", inp.data_ptr())
    context.set_tensor_address("logits", out.data_ptr())
    stream = torch.cuda.Stream()
    assert context.execute_async_v3(stream.cuda_stream)
    stream.synchronize()
    np.testing.assert_allclose(out.cpu().numpy(), want, rtol=1e-5, atol=1e-5)
