"""The shared model tester: every registered model (those added later included) must run, script,
export to ONNX, match eager PyTorch on ONNX Runtime, and have honest registry flags.

Models are built with their registry `test_kwargs` (a narrower FCN fc6, ...) to stay fast; the
slow-marked variants repeat everything with the full-size defaults."""
import math

import numpy as np
import onnx
import pytest
import torch

from edgeseg.export.onnx import onnx_bytes
from edgeseg.export.opcheck import unsupported_ops
from edgeseg.flops import count_params
from edgeseg.layers.unpool import uses_unpool
from edgeseg.manifest import IMAGENET_MEAN, IMAGENET_STD
from edgeseg.registry import create_model, list_models, model_info

ort = pytest.importorskip("onnxruntime")

BASE_SIZE = (64, 96)  # non-square on purpose
NUM_CLASSES = 11

CASES = [pytest.param(name, False, id=name) for name in list_models()] + [
    pytest.param(name, True, id=f"{name}-full", marks=pytest.mark.slow) for name in list_models()
]


def fit(model, size=BASE_SIZE) -> tuple[int, int]:
    """Round `size` up to the model's size divisor."""
    d = int(getattr(model, "size_divisor", 1))
    return tuple(math.ceil(s / d) * d for s in size)


def probe(size) -> torch.Tensor:
    """A normalised image posterised to 9 grey levels: equal neighbours make ties in max-pool windows
    (about 10% of ENet's first pooling windows) that survive the elementwise layers before them."""
    g = torch.Generator().manual_seed(1)
    image = torch.randint(0, 9, (1, 3, *size), generator=g).float() / 8
    return (image - torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)) / torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)


class Built:
    """One model, its probe input, eager logits, and its ONNX exports made on first use."""

    def __init__(self, name: str, full: bool) -> None:
        self.name, self.info = name, model_info(name)
        torch.manual_seed(0)
        kw = {} if full else self.info.test_kwargs
        self.model = create_model(name, num_classes=NUM_CLASSES, **kw).eval()
        self.size = fit(self.model)
        self.x = probe(self.size)
        with torch.no_grad():
            self.ref = self.model(self.x)
        self._onnx: dict[str, bytes] = {}

    def onnx(self, form: str) -> bytes:
        if not self.info.needs_unpool:
            form = "native"  # the unpool form changes nothing in a model without unpooling
        if form not in self._onnx:
            self._onnx[form] = onnx_bytes(self.model, self.size, form)
        return self._onnx[form]


@pytest.fixture(scope="module")
def built():
    cache: dict[tuple[str, bool], Built] = {}

    def get(name: str, full: bool) -> Built:
        if (name, full) not in cache:
            cache[(name, full)] = Built(name, full)
        return cache[(name, full)]

    return get


def ort_logits(data: bytes, x: torch.Tensor) -> np.ndarray:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x.numpy()})[0]


def assert_parity(got: np.ndarray, ref: torch.Tensor) -> None:
    ref = ref.numpy()
    assert got.shape == ref.shape
    assert np.abs(got - ref).max() <= 1e-4
    assert (got.argmax(1) == ref.argmax(1)).mean() >= 0.9999


@pytest.mark.parametrize("name, full", CASES)
def test_forward_shape(built, name, full):
    b = built(name, full)
    assert b.ref.shape == (1, NUM_CLASSES, *b.size)
    assert torch.isfinite(b.ref).all()


@pytest.mark.parametrize("name, full", CASES)
def test_torchscript_matches_eager_or_flag_says_no(built, name, full):
    b = built(name, full)
    if not b.info.scriptable:
        with pytest.raises(Exception):
            torch.jit.script(b.model)
        return
    scripted = torch.jit.script(b.model)
    with torch.no_grad():
        torch.testing.assert_close(scripted(b.x), b.ref, rtol=0, atol=1e-6)


@pytest.mark.parametrize("name, full", CASES)
def test_onnx_matches_eager_or_flag_says_no(built, name, full):
    b = built(name, full)
    if not b.info.onnx:
        with pytest.raises(Exception):
            b.onnx("native")
        return
    assert_parity(ort_logits(b.onnx("native"), b.x), b.ref)


@pytest.mark.parametrize("name, full", CASES)
def test_needs_unpool_flag_is_honest(built, name, full):
    b = built(name, full)
    assert uses_unpool(b.model) == b.info.needs_unpool
    if b.info.onnx:
        ops = {n.op_type for n in onnx.load_from_string(b.onnx("native")).graph.node}
        assert ("MaxUnpool" in ops) == b.info.needs_unpool


@pytest.mark.parametrize("name, full", CASES)
def test_decomposed_form_parses_in_tensorrt_and_matches(built, name, full):
    b = built(name, full)
    if not b.info.onnx:
        pytest.skip(f"{name} is flagged as not exportable to ONNX")
    assert unsupported_ops(onnx.load_from_string(b.onnx("decomposed"))) == set()
    if b.info.needs_unpool:
        assert_parity(ort_logits(b.onnx("decomposed"), b.x), b.ref)


# Parameter counts against the papers (within 5%).
def _on_meta(fn):
    with torch.device("meta"):
        return fn()


def test_enet_parameters_match_paper():
    assert count_params(_on_meta(lambda: create_model("enet"))) == pytest.approx(0.37e6, rel=0.05)  # Paszke et al. 2016


def test_linknet_parameters_match_paper():
    assert count_params(_on_meta(lambda: create_model("linknet"))) == pytest.approx(11.5e6, rel=0.05)  # Chaurasia & Culurciello 2017


def test_deeplab_mobilenetv2_encoder_parameters_match_paper():
    # No paper counts the full DeepLabv3+; MobileNetV2 paper Table 7 gives DeepLabv3 with a
    # MobileNetV2 OS16 backbone and plain ASPP (no decoder): 4.52M.
    m = _on_meta(lambda: create_model("deeplabv3plus_mobilenetv2", separable=False))
    assert count_params(m.backbone) + count_params(m.aspp) == pytest.approx(4.52e6, rel=0.05)
