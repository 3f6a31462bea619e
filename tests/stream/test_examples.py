"""The embedding examples stay runnable: the plain loop and the threaded one on a tiny artifact,
and the ROS 2 node's image conversion (ROS itself is not installed here: its modules are stubbed)."""
from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from artifact_factory import tiny_model, write_weights
from stream_fakes import write_video

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load_example(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("threaded", [False, True])
def test_embed_loop(tmp_path, monkeypatch, capsys, threaded):
    weights = write_weights(tmp_path, tiny_model())
    video = write_video(tmp_path / "clip.avi", 12)
    argv = ["embed_loop.py", str(weights), "--video", str(video), "--backend", "torch"]  # eager: the loop is the subject, not a compile
    monkeypatch.setattr(sys, "argv", argv + (["--threaded"] if threaded else []))
    load_example("embed_loop").main()
    out = capsys.readouterr().out
    assert ("12 processed" in out) if threaded else ("12 frames, predict p50" in out)


class _Msg(types.SimpleNamespace):
    pass


def test_ros2_node_image_conversion(monkeypatch):
    stubs = {
        "rclpy": types.ModuleType("rclpy"), "rclpy.node": types.ModuleType("rclpy.node"),
        "rclpy.qos": types.ModuleType("rclpy.qos"), "rclpy.time": types.ModuleType("rclpy.time"),
        "sensor_msgs": types.ModuleType("sensor_msgs"), "sensor_msgs.msg": types.ModuleType("sensor_msgs.msg"),
        "diagnostic_msgs": types.ModuleType("diagnostic_msgs"), "diagnostic_msgs.msg": types.ModuleType("diagnostic_msgs.msg"),
    }
    stubs["rclpy.node"].Node = object
    stubs["rclpy.qos"].qos_profile_sensor_data = None
    stubs["rclpy.time"].Time = object
    stubs["sensor_msgs.msg"].Image = _Msg
    for name in ("DiagnosticArray", "DiagnosticStatus", "KeyValue"):
        setattr(stubs["diagnostic_msgs.msg"], name, _Msg)
    for name, module in stubs.items():
        monkeypatch.setitem(sys.modules, name, module)
    node = load_example("ros2_node")

    bgr = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    padded = np.zeros((5, 24), np.uint8)  # rows padded to 24 bytes, as some drivers do
    padded[:, :21] = bgr.reshape(5, 21)
    msg = _Msg(encoding="bgr8", height=5, width=7, step=24, data=padded.tobytes())
    assert np.array_equal(node.image_to_bgr(msg), bgr)
    msg.encoding, msg.data = "rgb8", np.ascontiguousarray(np.pad(bgr[:, :, ::-1].reshape(5, 21), ((0, 0), (0, 3)))).tobytes()
    assert np.array_equal(node.image_to_bgr(msg), bgr)
    msg.encoding = "mono16"
    with pytest.raises(ValueError):
        node.image_to_bgr(msg)

    classes = np.arange(35, dtype=np.uint8).reshape(5, 7)
    mask = node.mask_message(classes, header="h")
    assert (mask.encoding, mask.height, mask.width, mask.step, mask.header) == ("mono8", 5, 7, 7, "h")
    assert np.array_equal(np.frombuffer(mask.data, np.uint8).reshape(5, 7), classes)
