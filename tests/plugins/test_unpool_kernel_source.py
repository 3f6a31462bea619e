"""max_unpool.cu compiles (PTX for the AOT plugin, an object for the C++ library), and its per-element
code, run on the CPU for fp32, matches the NumPy reference bit for bit. No GPU needed; nvcc is."""
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from edgeseg.plugins import KERNEL_NAMES, kernel_source_path
from edgeseg.plugins.ptx import nvrtc_module, compile_ptx
from edgeseg.plugins.reference import max_unpool_from_source

needs_nvcc = pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc (CUDA toolkit) is not installed")
HARNESS = Path(__file__).with_name("max_unpool_host.cu")


@needs_nvcc
@pytest.mark.parametrize("cc", [(7, 5), (8, 7)])  # the oldest CUDA 13 supports; Jetson Orin
def test_nvcc_compiles_both_entry_points_to_ptx(cc):
    ptx = compile_ptx(cc, compiler="nvcc")
    assert ptx.arch == f"compute_{cc[0]}{cc[1]}" and ptx.compiler.startswith("nvcc")
    assert f".target sm_{cc[0]}{cc[1]}".encode() in ptx.code
    entries = set(re.findall(rb"\.entry (\w+)", ptx.code))
    assert entries == {name.encode() for name in KERNEL_NAMES.values()}


@pytest.mark.skipif(nvrtc_module() is None, reason="NVRTC (cuda-python + libnvrtc) is not installed")
def test_nvrtc_compiles_the_same_source():
    ptx = compile_ptx((8, 7), compiler="nvrtc")
    assert set(re.findall(rb"\.entry (\w+)", ptx.code)) == {name.encode() for name in KERNEL_NAMES.values()}


@needs_nvcc
def test_host_launcher_compiles_for_the_cpp_plugin(tmp_path):
    obj = tmp_path / "max_unpool.o"
    subprocess.run(["nvcc", "-c", "-o", str(obj), str(kernel_source_path())], check=True, capture_output=True)
    symbols = subprocess.run(["nm", str(obj)], capture_output=True, text=True, check=True).stdout
    assert re.search(r" T edgeseg_max_unpool_launch$", symbols, re.M)


@pytest.fixture(scope="module")
def host_kernel(tmp_path_factory) -> Path:
    if shutil.which("nvcc") is None:
        pytest.skip("nvcc (CUDA toolkit) is not installed")
    exe = tmp_path_factory.mktemp("kernel") / "max_unpool_host"
    subprocess.run(["nvcc", "-O1", f"-I{kernel_source_path().parent}", "-o", str(exe), str(HARNESS)], check=True, capture_output=True)
    return exe


def run_host_kernel(exe: Path, values: np.ndarray, source: np.ndarray, kernel) -> np.ndarray:
    args = [str(exe), *map(str, kernel), *map(str, source.shape)]
    done = subprocess.run(args, input=values.tobytes() + source.tobytes(), capture_output=True, check=True)
    return np.frombuffer(done.stdout, np.float32).reshape(source.shape)


@pytest.mark.parametrize("shape,kernel,ties", [
    ((2, 3, 8, 12), (2, 2), False),
    ((2, 3, 8, 12), (2, 2), True),
    ((1, 2, 7, 9), (2, 2), True),
    ((1, 3, 10, 7), (3, 3), False),
    ((1, 2, 9, 8), (3, 2), True),
])
def test_kernel_code_matches_reference_on_cpu(host_kernel, shape, kernel, ties):
    rng = np.random.default_rng(7)
    source = rng.integers(0, 3, size=shape).astype(np.float32) if ties else rng.normal(size=shape).astype(np.float32)
    pooled = (shape[0], shape[1], shape[2] // kernel[0], shape[3] // kernel[1])
    values = rng.normal(size=pooled).astype(np.float32)
    np.testing.assert_array_equal(run_host_kernel(host_kernel, values, source, kernel), max_unpool_from_source(values, source, kernel))
