"""evaluate(): one confusion matrix over all pixels of all images, void ignored."""
from __future__ import annotations

import numpy as np
import pytest

from artifact_factory import tiny_manifest, tiny_model
from edgeseg.data import image_folder
from synthetic_data import SyntheticDataset
from edgeseg.errors import InputError
from edgeseg.eval.evaluate import evaluate
from edgeseg.eval.metrics import ConfusionMatrix
from edgeseg.segmenter import Segmenter


class Scripted:
    """A stand-in segmenter that answers each frame with the next prepared class map."""

    def __init__(self, predictions: list[np.ndarray], num_classes: int) -> None:
        self.predictions, self.num_classes, self.frames = iter(predictions), num_classes, []

    def predict(self, frame_bgr: np.ndarray) -> np.ndarray:
        self.frames.append(frame_bgr)
        return next(self.predictions)


class ListDataset(list):
    def __init__(self, items, num_classes: int, ignore_index: int | None) -> None:
        super().__init__(items)
        self.num_classes, self.ignore_index, self.name = num_classes, ignore_index, "list"


def test_a_perfect_oracle_scores_miou_one():
    data = SyntheticDataset(n=4, size=(24, 32), num_classes=4)
    oracle = Scripted([data[i][1] for i in range(len(data))], data.num_classes)
    s = evaluate(oracle, data, progress=False).summary(data.classes)
    assert s["miou"] == 1.0 and s["pixel_accuracy"] == 1.0
    # the oracle was shown the images in BGR order
    np.testing.assert_array_equal(oracle.frames[0], data[0][0][:, :, ::-1])


def test_a_constructed_confusion_gives_its_hand_computed_value():
    """Two 2x3 images, 3 classes, 255 = void. Counted by hand over both images together:
    class 0: TP 2, FP 1, FN 1 -> 2/4;  class 1: TP 2, FP 1, FN 1 -> 2/4;  class 2: TP 1, FP 0, FN 0 -> 1/1.
    mIoU = (0.5 + 0.5 + 1) / 3; pixel accuracy = 5 correct of 7 counted (void pixels count nowhere)."""
    labels = [np.array([[0, 0, 1], [1, 255, 2]], np.uint8), np.array([[0, 1, 255], [255, 255, 255]], np.uint8)]
    preds = [np.array([[0, 1, 1], [0, 2, 2]], np.uint8), np.array([[0, 1, 0], [1, 1, 1]], np.uint8)]
    data = ListDataset([(np.zeros((2, 3, 3), np.uint8), lbl) for lbl in labels], 3, 255)
    cm = evaluate(Scripted(preds, 3), data, progress=False)
    np.testing.assert_allclose(cm.iou(), [0.5, 0.5, 1.0])
    assert cm.miou() == pytest.approx(2 / 3)
    assert cm.pixel_accuracy() == pytest.approx(5 / 7)
    assert cm.matrix.sum() == 7


def test_one_matrix_over_all_pixels_is_not_a_mean_of_per_image_scores():
    """Image 1: one class-0 pixel, predicted right; image 2: 99 class-0 pixels, all predicted 1."""
    labels = [np.zeros((1, 1), np.uint8), np.zeros((9, 11), np.uint8)]
    preds = [np.zeros((1, 1), np.uint8), np.ones((9, 11), np.uint8)]
    data = ListDataset([(np.zeros((*l.shape, 3), np.uint8), l) for l in labels], 2, None)
    cm = evaluate(Scripted(preds, 2), data, progress=False)
    assert cm.iou()[0] == pytest.approx(1 / 100)  # per-image averaging would give (1 + 0) / 2
    assert cm.iou()[1] == 0.0


def test_confusion_matrix_ignore_index():
    cm = ConfusionMatrix(3, ignore_index=11)
    cm.update(np.array([0, 1, 2, 2, 1]), np.array([0, 1, 11, 11, 2]))
    np.testing.assert_array_equal(cm.matrix, [[1, 0, 0], [0, 1, 0], [0, 1, 0]])
    assert cm.pixel_accuracy() == pytest.approx(2 / 3)
    assert np.isnan(ConfusionMatrix(2).iou()).all() and ConfusionMatrix(2).miou() == 0.0


def test_torch_tensors_are_counted_like_numpy_arrays():
    import torch

    rng = np.random.default_rng(0)
    pred, target = rng.integers(0, 4, (2, 9, 7)).astype(np.uint8), rng.integers(0, 5, (2, 9, 7)).astype(np.uint8)
    target[0, 0, :3] = 255
    a, b = ConfusionMatrix(4, ignore_index=255), ConfusionMatrix(4, ignore_index=255)
    a.update(pred, target)
    b.update(torch.from_numpy(pred), torch.from_numpy(target))
    np.testing.assert_array_equal(a.matrix, b.matrix)
    assert a.matrix.sum() == target.size - 3 - (target == 4).sum()  # void and out-of-range labels count nowhere


@pytest.mark.parametrize("num_classes, ignore_index, labels_up_to", [(11, 11, 13), (11, None, 11), (4, 0, 6), (4, 255, 256), (11, 11, 5), (16, None, 16), (16, 15, 17)])  # 16 x 16: the last index a byte holds
def test_unsigned_maps_take_one_bincount_and_count_as_signed_ones_do(num_classes, ignore_index, labels_up_to):
    """uint8 maps (what the stream and eval count) go through the one-bincount path; int64 copies of
    the same maps through the masked one: the matrices agree, void and out-of-range labels included."""
    rng = np.random.default_rng(labels_up_to)
    pred = rng.integers(0, num_classes, (37, 41)).astype(np.uint8)
    target = rng.integers(0, labels_up_to, (37, 41)).astype(np.uint8)
    fast, masked = ConfusionMatrix(num_classes, ignore_index), ConfusionMatrix(num_classes, ignore_index)
    fast.update(pred, target)
    masked.update(pred.astype(np.int64), target.astype(np.int64))
    np.testing.assert_array_equal(fast.matrix, masked.matrix)
    assert fast.matrix.sum() == ((target < num_classes) & (target != (ignore_index if ignore_index is not None else -1))).sum()


def test_label_share_is_each_class_s_part_of_the_counted_pixels():
    cm = ConfusionMatrix(3, ignore_index=11)
    cm.update(np.array([0, 0, 0, 1, 2, 2]), np.array([0, 0, 1, 1, 2, 11]))
    assert cm.summary(["a", "b", "c"])["label_share"] == pytest.approx({"a": 0.4, "b": 0.4, "c": 0.2})


def test_max_images_limits_the_pixels_counted():
    data = SyntheticDataset(n=5, size=(16, 24), num_classes=4)
    cm = evaluate(Scripted([data[i][1] for i in range(5)], 4), data, max_images=2, progress=False)
    assert cm.matrix.sum() == 2 * 16 * 24


def test_a_real_segmenter_scores_every_pixel_of_a_frame_size_other_than_its_input():
    data = SyntheticDataset(n=2, size=(40, 60), num_classes=4)
    with Segmenter.from_model(tiny_model(), tiny_manifest()) as seg:
        cm = evaluate(seg, data, progress=True)
    assert cm.matrix.sum() == 2 * 40 * 60
    assert 0.0 <= cm.miou() <= 1.0


def test_class_count_mismatch_is_an_input_error():
    data = SyntheticDataset(n=1, size=(8, 8), num_classes=5)
    with pytest.raises(InputError, match="predicts 4 classes.*has 5"):
        evaluate(Scripted([], 4), data, progress=False)


def test_a_non_image_file_in_the_dataset_is_an_input_error(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    (tmp_path / "classes.txt").write_text("a\nb\n")
    (tmp_path / "images" / "x.png").write_text("not a picture")
    (tmp_path / "masks" / "x.png").write_text("not a picture either")
    with pytest.raises(InputError, match="cannot read image"):
        evaluate(Scripted([], 2), image_folder(tmp_path), progress=False)
