"""The classic zoo beyond the shared tester: parameter counts against the papers, a few training
steps for every registered model, the training-only outputs, odd input sizes."""
import numpy as np
import pytest
import torch

from synthetic_data import SyntheticDataset
from edgeseg.flops import count_params
from edgeseg.layers.unpool import set_unpool_mode
from edgeseg.models.backbones.vgg import FCHead, VGG16
from edgeseg.models.backbones.xception import Xception65
from edgeseg.models.context_module import ContextModule
from edgeseg.registry import create_model, list_models, model_info
from edgeseg.train.trainer import TrainView, segmentation_loss


def on_meta(fn):
    """Build on the meta device: shapes and parameter counts without allocating ~500 MB."""
    with torch.device("meta"):
        return fn()


def trainable(model) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# ---- parameter counts: default (paper-size) builds, with the paper's class count where it matters


def test_vgg16_matches_simonyan_zisserman():
    # Table 2 of the VGG paper: 138M for configuration D (13 convs + 3 fc layers, 1000 classes).
    def build():
        vgg = VGG16(batch_norm=False)
        return [vgg, FCHead(512, 4096, 7, batch_norm=False), torch.nn.Conv2d(4096, 1000, 1)]

    assert sum(count_params(m) for m in on_meta(build)) == pytest.approx(138.36e6, rel=0.001)


@pytest.mark.parametrize("name", ["fcn32s_vgg16", "fcn16s_vgg16", "fcn8s_vgg16"])
def test_fcn_vgg16_matches_paper(name):
    # Long et al. 2015, Table 1: 134M parameters for FCN-VGG16 (PASCAL, 21 classes). The final
    # fixed bilinear upsampling is not a learned parameter there and is frozen here.
    m = on_meta(lambda: create_model(name, num_classes=21, batch_norm=False))
    assert trainable(m) == pytest.approx(134e6, rel=0.01)


def test_segnet_matches_paper():
    # Badrinarayanan et al. 2017, Table 6: 29.5M parameters, 14.7M of them in the encoder.
    m = on_meta(lambda: create_model("segnet", num_classes=11))
    assert count_params(m) == pytest.approx(29.5e6, rel=0.01)
    assert count_params(m.enc_blocks) == pytest.approx(14.7e6, rel=0.01)


def test_segnet_basic_matches_paper():
    # Badrinarayanan et al. 2017, Table 1: SegNet-Basic has 1.425M parameters (CamVid).
    assert count_params(on_meta(lambda: create_model("segnet_basic", num_classes=11))) == pytest.approx(1.425e6, rel=0.01)


def test_unet_matches_fig1_count():
    # The U-Net paper states no count; 31.03M is what its Fig. 1 (64-1024 channels, 2x2
    # up-convolutions, 2 classes) adds up to, and the figure commonly cited for it.
    m = on_meta(lambda: create_model("unet", num_classes=2))
    assert count_params(m) == pytest.approx(31.03e6, rel=0.005)
    assert count_params(on_meta(lambda: create_model("unet_base16", num_classes=2))) < count_params(m) / 15


def test_deeplab_largefov_matches_paper():
    # Chen et al. 2015, Table 2: DeepLab-LargeFOV (fc6 3x3, rate 12, 1024 channels) has 20.5M.
    m = on_meta(lambda: create_model("deeplabv1_vgg16", num_classes=21, batch_norm=False))
    assert count_params(m) == pytest.approx(20.5e6, rel=0.01)


def test_basic_context_module_has_64_c_squared_weights():
    # Yu & Koltun 2016, section 3: the basic context module has 64 C^2 parameters (weights).
    c = 21
    weights = sum(p.numel() for n, p in ContextModule(c).named_parameters() if n.endswith("weight"))
    assert weights == 64 * c * c


@pytest.mark.parametrize("large", [False, True])
def test_context_module_starts_as_identity(large):
    m = ContextModule(11, large=large, noise=0.0).eval()
    x = torch.rand(2, 11, 20, 30)  # class scores after the front end's ReLU-free classifier, kept >= 0 here
    with torch.no_grad():
        torch.testing.assert_close(m(x), x, rtol=1e-5, atol=1e-5)


# ---- training


def synthetic_batch(num_classes=4, size=(32, 64), n=2):
    data = SyntheticDataset(n=n, size=size, num_classes=num_classes)
    imgs, labels = zip(*(data[i] for i in range(n)))
    x = torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).float() / 255 - 0.5
    return x, torch.from_numpy(np.stack(labels)).long()


@pytest.mark.parametrize("name", list_models())
def test_trains_a_few_steps(name):
    """Through the trainer's own training view and loss: every learnable parameter gets a
    gradient (auxiliary heads included) and a few Adam steps on one batch lower the loss."""
    torch.manual_seed(0)
    model = create_model(name, num_classes=4, **model_info(name).test_kwargs).train()
    net = TrainView(model)
    x, y = synthetic_batch()
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    losses = []
    for step in range(5):
        opt.zero_grad()
        loss = segmentation_loss(net(x), y, None, 255, 0.4)
        loss.backward()
        if step == 0:
            missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
            assert not missing, f"parameters without a gradient: {missing[:5]}"
        opt.step()
        losses.append(loss.item())
    assert np.isfinite(losses).all()
    assert losses[-1] < losses[0], losses


@pytest.mark.parametrize("name, outputs", [("pspnet_resnet50", 2), ("gfrnet_vgg16", 6)])
def test_training_outputs_start_with_the_deployed_one(name, outputs):
    model = create_model(name, **model_info(name).test_kwargs).eval()
    x = torch.randn(1, 3, 45, 61)
    with torch.no_grad():
        outs = model.forward_train(x)
        assert len(outs) == outputs and all(o.shape == (1, 11, 45, 61) for o in outs)
        torch.testing.assert_close(outs[0], model(x))
        scripted = torch.jit.script(model)  # the training outputs script too
        torch.testing.assert_close(scripted.forward_train(x)[1], outs[1])


# ---- sizes


@pytest.mark.parametrize("name", ["segnet", "segnet_basic"])
def test_segnet_round_trips_camvid_size_in_both_unpool_forms(name):
    # 360 -> 180 -> 90 -> 45 -> 22 -> 11 and back: the odd 45 must come back as 45.
    model = create_model(name, **model_info(name).test_kwargs).eval()
    x = torch.randn(1, 3, 360, 480)
    with torch.no_grad():
        native = model(x)
        decomposed = set_unpool_mode(model, "decomposed")(x)
    assert native.shape == (1, 11, 360, 480)
    torch.testing.assert_close(decomposed, native, rtol=0, atol=0)


@pytest.mark.parametrize("name", ["fcn8s_vgg16", "fcn8s_resnet50", "unet", "fpn_resnet50", "refinenet_resnet101", "gfrnet_vgg16"])
def test_odd_input_sizes(name):
    model = create_model(name, **model_info(name).test_kwargs).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 3, 45, 61)).shape == (1, 11, 45, 61)


@pytest.mark.parametrize("upsample", ["bilinear", "transposed"])
@pytest.mark.parametrize("name", ["fcn8s_vgg16", "segnet", "unet"])
def test_upsampling_choice(name, upsample):
    model = create_model(name, upsample=upsample, **model_info(name).test_kwargs).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 3, 45, 61)).shape == (1, 11, 45, 61)
    assert not any(type(m).__name__ == "MaxUnpool" for m in model.modules())


@pytest.mark.parametrize("output_stride, dilations", [(16, {1, 2}), (8, {1, 2, 4})])
def test_xception65_depth_and_output_stride(output_stride, dilations):
    # Chen et al. 2018, Fig. 4: 65 layers (a separable conv counts as one): a 2-conv stem, then 3
    # entry, 16 middle and 2 exit blocks of 3 separable convs; strides become dilation past OS.
    b = Xception65(output_stride, width=0.125).eval()
    depthwise = [m for m in b.modules() if isinstance(m, torch.nn.Conv2d) and m.groups > 1]
    assert len(b.stem) + len(depthwise) == 65
    assert {m.dilation[0] for m in depthwise} == dilations
    feats = b(torch.zeros(1, 3, 64, 96))
    assert [64 // f.shape[-2] for f in feats] == b.reductions == [2, 4, 8, min(16, output_stride), output_stride]
    assert [f.shape[1] for f in feats] == b.channels
