"""The TensorRT plugin graph computes what the native graph computes: the rewritten graph, with the
plugin op evaluated by the reference (onnx.reference), against ONNX Runtime on the native graph."""
import numpy as np
import onnx
import pytest
import torch
import torch.nn as nn
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator
from onnx.reference.op_run import OpRun

from edgeseg.errors import ArtifactError
from edgeseg.export.onnx import onnx_bytes
from edgeseg.export.opcheck import unsupported_ops
from edgeseg.layers.unpool import MaxPoolWithIndices, MaxUnpool
from edgeseg.plugins import PLUGIN_NAME, PLUGIN_NAMESPACE
from edgeseg.plugins.onnx_rewrite import to_plugin_graph
from edgeseg.plugins.reference import max_unpool_from_source

ort = pytest.importorskip("onnxruntime")


class MaxUnpoolFromSource(OpRun):
    op_domain = PLUGIN_NAMESPACE

    def _run(self, values, source, kernel_h=None, kernel_w=None, plugin_namespace=None, plugin_version=None, aot=None):
        return (max_unpool_from_source(values, source, (kernel_h, kernel_w)),)


class TwoLevels(nn.Module):
    """Two nested pool/unpool pairs with a conv between, unpooling to the pooled tensor's size
    (odd sizes included) or, like ENet, to twice the indices' size."""

    def __init__(self, size_from_indices: bool = False) -> None:
        super().__init__()
        self.p1, self.p2, self.u1, self.u2 = MaxPoolWithIndices(), MaxPoolWithIndices(), MaxUnpool(), MaxUnpool()
        self.conv = nn.Conv2d(6, 6, 3, padding=1)
        self.size_from_indices = size_from_indices

    def size(self, x: torch.Tensor, idx: torch.Tensor):
        return (idx.shape[2] * 2, idx.shape[3] * 2) if self.size_from_indices else (x.shape[2], x.shape[3])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.cat([x, x.flip(1)], 1)
        y1, i1 = self.p1(x)
        y2, i2 = self.p2(y1)
        z = self.u2(self.conv(y2), i2, *self.size(y1, i2))
        return self.u1(z * 2, i1, *self.size(x, i1))


def tied(shape, seed=0) -> np.ndarray:
    x = np.random.default_rng(seed).integers(0, 3, size=shape).astype(np.float32)
    x[..., : shape[-2] // 2, :] = 1.0
    return x


def native(model, size, dynamic=False) -> onnx.ModelProto:
    torch.manual_seed(0)
    return onnx.load_from_string(onnx_bytes(model, size, "native", dynamic=dynamic))


def assert_same(native_model: onnx.ModelProto, x: np.ndarray) -> None:
    plugin_model, pairs = to_plugin_graph(native_model)
    assert pairs == 2
    want = ort.InferenceSession(native_model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]
    got = ReferenceEvaluator(plugin_model, new_ops=[MaxUnpoolFromSource]).run(None, {"input": x})[0]
    assert (want == 0).mean() > 0.3  # the unpooling really scattered
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("size", [(8, 12), (7, 9), (10, 6)])
def test_static_graph_with_ties_and_odd_sizes(size):
    assert_same(native(TwoLevels(), size), tied((1, 3, *size)))


@pytest.mark.parametrize("size_from_indices", [False, True])
def test_dynamic_graph_at_two_sizes(size_from_indices):
    model = native(TwoLevels(size_from_indices), (8, 12), dynamic=True)
    for shape in [(1, 3, 8, 12), (2, 3, 16, 8)]:
        assert_same(model, tied(shape, seed=1))


def test_plugin_node_is_what_the_tensorrt_parser_looks_up():
    plugin_model, _ = to_plugin_graph(native(TwoLevels(), (8, 12)), aot=True)
    nodes = [n for n in plugin_model.graph.node if n.op_type == PLUGIN_NAME]
    assert len(nodes) == 2
    for n in nodes:
        attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
        assert n.domain == PLUGIN_NAMESPACE and attrs["plugin_namespace"] == PLUGIN_NAMESPACE.encode()
        assert attrs["kernel_h"] == attrs["kernel_w"] == 2 and attrs["aot"] == 1
    assert not [n for n in plugin_model.graph.node if n.op_type == "MaxUnpool" or (n.op_type == "MaxPool" and len(n.output) > 1)]
    # only the plugin is left for TensorRT's parser to look up in its plugin registry
    assert unsupported_ops(plugin_model) == {f"{PLUGIN_NAMESPACE}::{PLUGIN_NAME}"}
    assert unsupported_ops(native(TwoLevels(), (8, 12))) >= {"MaxUnpool"}
    jit, _ = to_plugin_graph(native(TwoLevels(), (8, 12)), aot=False)
    assert all("aot" not in {a.name for a in n.attribute} for n in jit.graph.node)


def pair_graph(pool_attrs: dict, out_hw=(6, 8), in_hw=(7, 9)) -> onnx.ModelProto:
    pool = helper.make_node("MaxPool", ["x"], ["y", "i"], **pool_attrs)
    shape = helper.make_tensor("shape", TensorProto.INT64, [4], [1, 1, *out_hw])
    k = pool_attrs["kernel_shape"]
    unpool = helper.make_node("MaxUnpool", ["y", "i", "shape"], ["z"], kernel_shape=k, strides=pool_attrs.get("strides", k))
    graph = helper.make_graph(
        [pool, unpool], "pair",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, *in_hw])],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, [1, 1, *out_hw])],
        initializer=[shape],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize("attrs,match", [
    (dict(kernel_shape=[3, 3], strides=[2, 2]), "non-overlapping"),
    (dict(kernel_shape=[2, 2], pads=[1, 1, 1, 1]), "no padding"),
    (dict(kernel_shape=[2, 2], ceil_mode=1), "floor mode"),
])
def test_pairs_the_plugin_cannot_express_are_refused(attrs, match):
    with pytest.raises(ArtifactError, match=match):
        to_plugin_graph(pair_graph(attrs, out_hw=(7, 9)))


def test_static_unpool_to_another_size_is_refused():
    with pytest.raises(ArtifactError, match="not to the pooled tensor"):
        to_plugin_graph(pair_graph(dict(kernel_shape=[2, 2]), out_hw=(6, 8)))
    model, pairs = to_plugin_graph(pair_graph(dict(kernel_shape=[2, 2]), out_hw=(7, 9)))
    assert pairs == 1 and [n.op_type for n in model.graph.node] == ["MaxPool", PLUGIN_NAME]
