"""An engine's manifest is checked against the host before TensorRT sees the engine: TensorRT version
(packaging.version, never strings), GPU compute capability, sha256. Pure Python: the host facts
are given, not read from a GPU."""
import warnings

import pytest

from edgeseg.backends.tensorrt_backend import TensorRTRunner
from edgeseg.backends.tensorrt_host import HostInfo, check_engine_manifest, host_info
from edgeseg.build.engine_info import precision_map_from_inspector
from edgeseg.errors import ArtifactError, InputError, MissingDependencyError
from edgeseg.manifest import Manifest

REBUILD = "edgeseg build enet-camvid --fp16 --out build/enet"
ORIN = HostInfo("10.3.0.30", "Orin", (8, 7))


def engine_folder(tmp_path, **record) -> tuple[Manifest, object]:
    engine = tmp_path / "model.engine"
    engine.write_bytes(b"not really an engine, but hashed like one")
    manifest = Manifest(model="enet", num_classes=11, input_size=(360, 480), format="tensorrt", precision="fp16")
    manifest.extra = {
        "tensorrt": {"version": "10.3.0.30", "gpu": "Orin", "compute_capability": "8.7", "hardware_compatibility": "none", **record},
        "build": {"command": REBUILD},
    }
    manifest.record_hash(engine)
    manifest.save(tmp_path)
    return manifest, tmp_path


def test_matching_host_is_accepted(tmp_path):
    manifest, folder = engine_folder(tmp_path)
    check_engine_manifest(manifest, ORIN, folder)
    check_engine_manifest(manifest, HostInfo("10.3.0.26", "Orin", (8, 7)), folder)  # another build of 10.3.0


@pytest.mark.parametrize("host_version", ["10.4.0.1", "10.30.0", "11.0.0", "9.3.0"])
def test_other_tensorrt_version_is_refused_with_the_rebuild_command(tmp_path, host_version):
    manifest, folder = engine_folder(tmp_path)
    with pytest.raises(ArtifactError, match="built with TensorRT 10.3.0.30") as e:
        check_engine_manifest(manifest, HostInfo(host_version, "Orin", (8, 7)), folder)
    assert REBUILD in str(e.value)


def test_versions_compare_as_versions_not_strings(tmp_path):
    # as strings "10.10.0" < "10.9.0"; as versions 10.10 is newer and runs a version-compatible 10.9 engine
    manifest, folder = engine_folder(tmp_path, version="10.9.0", version_compatible=True)
    check_engine_manifest(manifest, HostInfo("10.10.0", "Orin", (8, 7)), folder)
    with pytest.raises(ArtifactError, match="built with TensorRT 10.9.0"):
        check_engine_manifest(manifest, HostInfo("10.8.1", "Orin", (8, 7)), folder)
    with pytest.raises(ArtifactError, match="built with TensorRT 10.9.0"):
        check_engine_manifest(manifest, HostInfo("11.0.0", "Orin", (8, 7)), folder)


@pytest.mark.parametrize("cc", [(8, 6), (9, 0), (7, 2)])
def test_other_compute_capability_is_refused(tmp_path, cc):
    manifest, folder = engine_folder(tmp_path)
    with pytest.raises(ArtifactError, match=f"compute capability 8.7 .*is {cc[0]}.{cc[1]}") as e:
        check_engine_manifest(manifest, HostInfo("10.3.0.30", "Some GPU", cc), folder)
    assert REBUILD in str(e.value)


def test_hardware_compatible_engine_runs_on_any_ampere_or_newer(tmp_path):
    manifest, folder = engine_folder(tmp_path, hardware_compatibility="ampere_plus")
    with pytest.warns(UserWarning, match="tuned on a Orin, this is a A100"):
        check_engine_manifest(manifest, HostInfo("10.3.0.30", "A100", (8, 0)), folder)
    with pytest.raises(ArtifactError, match="compute capability"):
        check_engine_manifest(manifest, HostInfo("10.3.0.30", "T4", (7, 5)), folder)


def test_changed_engine_bytes_are_refused(tmp_path):
    manifest, folder = engine_folder(tmp_path)
    (folder / "model.engine").write_bytes(b"tampered")
    with pytest.raises(ArtifactError, match="sha256") as e:
        check_engine_manifest(manifest, ORIN, folder)
    assert REBUILD in str(e.value)


def test_same_capability_other_gpu_only_warns(tmp_path):
    manifest, folder = engine_folder(tmp_path)
    with pytest.warns(UserWarning, match="tuned on a Orin"):
        check_engine_manifest(manifest, HostInfo("10.3.0.30", "RTX A4000", (8, 7)), folder)


def test_missing_records_and_hosts(tmp_path):
    manifest, folder = engine_folder(tmp_path)
    with pytest.raises(MissingDependencyError, match="pip install 'edgeseg\\[tensorrt\\]'"):
        check_engine_manifest(manifest, HostInfo(None, None, None), folder)
    with pytest.raises(InputError, match="needs a CUDA GPU"):
        check_engine_manifest(manifest, HostInfo("10.3.0.30", None, None), folder)
    del manifest.extra["tensorrt"]["compute_capability"]
    with pytest.raises(ArtifactError, match="does not record") as e:
        check_engine_manifest(manifest, ORIN, folder)
    assert REBUILD in str(e.value)
    onnx_manifest = Manifest(model="enet", num_classes=11, input_size=(360, 480), format="onnx")
    with pytest.raises(ArtifactError, match="not a TensorRT engine"):
        check_engine_manifest(onnx_manifest, ORIN, folder)


@pytest.mark.skipif(host_info().tensorrt is not None, reason="checks the refusal on a host without TensorRT")
def test_runner_refuses_before_touching_tensorrt_here(tmp_path):
    engine_folder(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(MissingDependencyError, match="TensorRT is not installed"):
            TensorRTRunner(tmp_path / "model.engine")


def test_precision_map_reads_both_inspector_layouts():
    trt10 = {"Layers": [
        {"Name": "conv1", "Outputs": [{"Name": "a", "Format/Datatype": "Row major linear FP16 format"}]},
        {"Name": "conv2 + relu", "Outputs": [{"Name": "b", "Format/Datatype": "Channel major FP32 format where channel % 4 == 0"}]},
        {"Name": "q", "Outputs": [{"Name": "c", "Format/Datatype": "Row major Int8 format"}]},
    ], "Bindings": ["input", "logits"]}
    trt11 = {"Layers": [
        {"Name": "conv1", "Outputs": [{"Name": "a", "Format": "Row major linear", "DataType": "FP16"}]},
        {"Name": "unpool", "Outputs": [{"Name": "b", "Format": "Row major linear", "DataType": "FP16"}]},
    ]}
    assert precision_map_from_inspector(trt10) == {"layers": {"conv1": "FP16", "conv2 + relu": "FP32", "q": "INT8"}, "counts": {"FP16": 1, "FP32": 1, "INT8": 1}}
    assert precision_map_from_inspector(trt11)["counts"] == {"FP16": 2}
