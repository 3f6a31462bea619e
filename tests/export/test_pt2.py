"""AOTInductor packages: written with a manifest, run by the aoti back end like eager; and (slow) the
C++ loader in examples/aoti_predict.cpp, built with g++ against the torch wheel, gives the same class map."""
from __future__ import annotations

import os
import shutil
import subprocess

import numpy as np
import pytest
import torch

from edgeseg.backends import open_runner, resolve_artifact
from edgeseg.errors import InputError
from edgeseg.export.pt2 import export_pt2
from edgeseg.manifest import Manifest
from tiny_convnet import CLASSES, SIZE, tiny_convnet

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "aoti_predict.cpp")


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    net = tiny_convnet()
    manifest = Manifest(model="tiny", num_classes=CLASSES, input_size=SIZE, format="weights")
    return export_pt2(net, tmp_path_factory.mktemp("pt2") / "tiny.pt2", manifest=manifest), net


def _frame() -> np.ndarray:
    return np.random.default_rng(3).standard_normal((1, 3, *SIZE)).astype(np.float32)


def test_package_runs_like_eager_through_auto(package):
    path, net = package
    manifest, _ = resolve_artifact(path)
    assert manifest.format == "pt2" and manifest.extra["compile_s"] > 0
    with torch.inference_mode():
        expected = net(torch.from_numpy(_frame())).numpy()
    with open_runner(path, device="cpu") as runner:
        assert runner.name == "aoti" and runner.selection.startswith("backend auto -> aoti")
        np.testing.assert_allclose(runner.infer(_frame()), expected, atol=1e-4, rtol=0)
        with pytest.raises(InputError, match="takes input of shape"):
            runner.infer(np.zeros((1, 3, 8, 8), np.float32))


def test_only_pt2_names_are_accepted(tmp_path):
    with pytest.raises(InputError, match="ends in .pt2"):
        export_pt2(tiny_convnet(), tmp_path / "tiny.zip", SIZE)


@pytest.mark.slow  # g++ over torch's headers takes minutes on 2 cores
@pytest.mark.skipif(shutil.which("g++") is None, reason="no g++ to build the C++ example")
def test_cpp_loader_gives_the_same_class_map(package, tmp_path):
    path, net = package
    torch_dir = os.path.dirname(torch.__file__)
    exe = tmp_path / "aoti_predict"
    subprocess.run(["g++", "-std=c++20", "-O2", EXAMPLE, f"-I{torch_dir}/include", f"-I{torch_dir}/include/torch/csrc/api/include",
                    f"-L{torch_dir}/lib", f"-Wl,-rpath,{torch_dir}/lib", "-ltorch", "-ltorch_cpu", "-lc10", "-o", str(exe)], check=True)
    x = _frame()
    (tmp_path / "in.f32").write_bytes(x.tobytes())
    subprocess.run([str(exe), str(path), str(tmp_path / "in.f32"), str(SIZE[0]), str(SIZE[1]), str(tmp_path / "out.u8")], check=True)
    got = np.fromfile(tmp_path / "out.u8", dtype=np.uint8).reshape(SIZE)
    with torch.inference_mode():
        expected = net(torch.from_numpy(x)).argmax(1)[0].numpy().astype(np.uint8)
    np.testing.assert_array_equal(got, expected)
