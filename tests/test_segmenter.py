"""Segmenter: loading every artifact kind, pre/post-processing, bad frames."""
from __future__ import annotations

import numpy as np
import pytest

import edgeseg
from artifact_factory import INPUT_SIZE, NUM_CLASSES, shared_artifacts, tiny_manifest, tiny_model, write_weights
from edgeseg.errors import ArtifactError, InputError
from edgeseg.manifest import IMAGENET_MEAN, IMAGENET_STD
from edgeseg.preprocess import frame_to_input, logits_to_classes, resize_logits
from edgeseg.segmenter import Segmenter


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    return shared_artifacts(tmp_path_factory)


@pytest.fixture(scope="module")
def seg(artifacts):
    with edgeseg.load(artifacts["weights"], backend="torch") as s:  # auto would compile it (tests/backends/test_auto.py)
        yield s


def frame(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_predict_at_a_frame_size_other_than_the_input_size(seg):
    out = seg.predict(frame(50, 70))
    assert out.shape == (50, 70) and out.dtype == np.uint8
    assert out.max() < NUM_CLASSES
    logits = seg.predict_logits(frame(50, 70))
    assert logits.shape == (NUM_CLASSES, 50, 70) and logits.dtype == np.float32
    np.testing.assert_array_equal(logits.argmax(0), out)


def test_predict_is_preprocess_infer_postprocess(seg):
    f = frame(*INPUT_SIZE, seed=3)
    logits = seg.infer(seg.preprocess(f))
    assert logits.shape == (1, NUM_CLASSES, *INPUT_SIZE)
    # frame size == input size: no resampling, the class map is the argmax of the raw logits
    np.testing.assert_array_equal(seg.predict(f), logits[0].argmax(0))
    np.testing.assert_array_equal(seg.postprocess(logits, INPUT_SIZE), logits[0].argmax(0))


def test_attributes_come_from_the_manifest(seg):
    assert seg.num_classes == NUM_CLASSES and seg.input_size == INPUT_SIZE
    assert seg.classes == [f"class{i}" for i in range(NUM_CLASSES)]
    assert len(seg.palette) == NUM_CLASSES and seg.manifest.model == "enet"
    assert seg.runner.name == "torch"


@pytest.mark.parametrize("kind", ["torchscript", "onnx-native", "onnx-decomposed"])
def test_every_artifact_kind_predicts_the_same_class_map(seg, artifacts, kind):
    from edgeseg.backends import resolve_artifact
    from edgeseg.backends.auto import choose_cpu

    f = frame(*INPUT_SIZE, seed=5)
    manifest, _ = resolve_artifact(artifacts[kind])
    with edgeseg.load(artifacts[kind]) as other:
        assert other.runner.name == choose_cpu(manifest.format, "fp32", manifest.unpool).backend
        np.testing.assert_allclose(other.predict_logits(f), seg.predict_logits(f), atol=1e-4, rtol=0)
        np.testing.assert_array_equal(other.predict(f), seg.predict(f))


def test_folder_with_manifest_json(artifacts, tmp_path):
    folder = tmp_path / "enet-build"
    folder.mkdir()
    (folder / "enet.pt").write_bytes(artifacts["torchscript"].read_bytes())
    manifest = tiny_manifest("torchscript")
    manifest.record_hash(folder / "enet.pt")
    manifest.save(folder)
    with edgeseg.load(folder) as s:
        assert s.runner.name == "torchscript" and s.predict(frame(20, 30)).shape == (20, 30)


def test_registered_name_loads_its_bundled_weights(tmp_path, monkeypatch):
    path = write_weights(tmp_path, tiny_model())
    monkeypatch.setattr("edgeseg.weights.pretrained_path", lambda name, tag="camvid": path if name == "enet" else None)
    with edgeseg.load("enet", backend="torch") as s:
        assert s.manifest.model == "enet" and s.runner.name == "torch"


def test_registered_name_without_shipped_weights_says_so():
    from edgeseg.weights import WEIGHTS_DIR

    unshipped = [m for m in edgeseg.list_models() if not (WEIGHTS_DIR / f"{m}-camvid.safetensors").is_file()]
    if not unshipped:
        pytest.skip("every registered model has bundled weights")
    with pytest.raises(ArtifactError, match=f"no 'camvid' weights are shipped for '{unshipped[0]}'"):
        edgeseg.load(unshipped[0])


def test_unknown_name_suggests_close_ones():
    with pytest.raises(InputError, match="unknown model 'enett'.*enet"):
        edgeseg.load("enett")


def test_missing_file_is_an_artifact_error(tmp_path):
    with pytest.raises(ArtifactError, match="not found"):
        edgeseg.load(tmp_path / "nothing.onnx")


def test_manifest_hash_mismatch_is_refused(tmp_path):
    path = write_weights(tmp_path, tiny_model())
    write_weights(tmp_path / "other", tiny_model())  # same name, different random weights
    (tmp_path / path.name).write_bytes((tmp_path / "other" / path.name).read_bytes())
    with pytest.raises(ArtifactError, match="does not match the sha256"):
        edgeseg.load(path)


@pytest.mark.parametrize("bad", [
    np.zeros((20, 30, 4), np.uint8),
    np.zeros((20, 30), np.uint8),
    np.zeros((20, 30, 3), np.float32),
    np.zeros((0, 30, 3), np.uint8),
    [[0, 0, 0]],
])
def test_bad_frames_are_input_errors_naming_the_expected_shape(seg, bad):
    with pytest.raises(InputError, match=r"\(H, W, 3\)"):
        seg.predict(bad)


def test_from_model_wraps_an_in_memory_model(seg):
    model = tiny_model()
    model.load_state_dict(seg.runner.model.state_dict())
    with Segmenter.from_model(model, tiny_manifest()) as s:
        f = frame(40, 40, seed=9)
        np.testing.assert_array_equal(s.predict(f), seg.predict(f))


def test_preprocess_flips_bgr_and_normalises():
    f = np.zeros((4, 6, 3), np.uint8)
    f[..., 0] = 255  # blue in BGR
    x = frame_to_input(f, (4, 6), IMAGENET_MEAN, IMAGENET_STD)
    assert x.shape == (1, 3, 4, 6) and x.dtype == np.float32 and x.flags.c_contiguous
    expected_rgb = [(0 - IMAGENET_MEAN[0]) / IMAGENET_STD[0], (0 - IMAGENET_MEAN[1]) / IMAGENET_STD[1], (1 - IMAGENET_MEAN[2]) / IMAGENET_STD[2]]
    np.testing.assert_allclose(x[0, :, 0, 0], expected_rgb, rtol=1e-6)


def test_preprocess_resizes_to_the_input_size():
    f = np.full((90, 120, 3), 128, np.uint8)
    x = frame_to_input(f, (30, 40), (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
    assert x.shape == (1, 3, 30, 40)
    np.testing.assert_allclose(x, (128 / 255 - 0.5) / 0.5, rtol=0, atol=1e-6)  # a flat frame stays flat


def test_postprocess_upsamples_logits_then_argmaxes():
    logits = np.zeros((1, 2, 2, 2), np.float32)
    logits[0, 0, :, 0] = 1.0  # left column is class 0
    logits[0, 1, :, 1] = 1.0  # right column is class 1
    out = logits_to_classes(logits, (4, 8))
    assert out.shape == (4, 8) and out.dtype == np.uint8
    # the interpolated scores cross half-way: the boundary sits in the middle, not on a 2x2 grid
    np.testing.assert_array_equal(out, np.repeat([[0, 0, 0, 0, 1, 1, 1, 1]], 4, axis=0))
    assert resize_logits(logits, (2, 2)).shape == (2, 2, 2)


def test_class_map_equals_numpy_argmax_ties_included():
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((1, 11, 9, 13)).astype(np.float32)
    logits[0, 2, :4] = logits[0, 7, :4] = 5.0  # a tie at the top: the first class wins, as in argmax
    logits[0, :, 5] = 0.0  # an all-equal row is class 0
    channels_last = np.ascontiguousarray(logits.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)  # the compiled back end's layout
    for scores in (logits, channels_last):
        out = logits_to_classes(scores, (9, 13))
        np.testing.assert_array_equal(out, logits[0].argmax(axis=0))
        assert (out[:4] == 2).all() and (out[5] == 0).all() and out.dtype == np.uint8


def test_crf_option_refines_the_class_map_with_the_frame(seg):
    from edgeseg.postprocess.crf import dense_crf

    f = frame(*INPUT_SIZE, seed=5)
    logits = seg.infer(seg.preprocess(f))
    seg.crf = True
    try:
        refined = seg.predict(f)
        with pytest.raises(InputError, match="needs the frame"):
            seg.postprocess(logits, INPUT_SIZE)
    finally:
        seg.crf = False
    z = resize_logits(logits, INPUT_SIZE)
    probs = np.exp(z - z.max(0)) / np.exp(z - z.max(0)).sum(0)
    np.testing.assert_array_equal(refined, dense_crf(f[:, :, ::-1], probs).argmax(0))
