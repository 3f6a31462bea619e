import numpy as np
import pytest

from edgeseg.stream.overlay import Overlay, palette_lut

PALETTE = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]  # RGB


def test_palette_lut_is_bgr_and_black_beyond_the_palette():
    lut = palette_lut(PALETTE)
    assert lut[0].tolist() == [0, 0, 255] and lut[2].tolist() == [255, 0, 0] and lut[3].tolist() == [0, 0, 0]


@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0])
def test_alpha_blending(alpha):
    frame = np.full((120, 200, 3), 100, np.uint8)
    classes = np.zeros((120, 200), np.uint8)
    classes[:, 100:] = 1
    view = Overlay(["a", "b", "c"], PALETTE, alpha=alpha, legend=False).render(frame, classes)
    expected_left = np.round((1 - alpha) * 100 + alpha * np.array([0, 0, 255]))
    expected_right = np.round((1 - alpha) * 100 + alpha * np.array([0, 255, 0]))
    assert np.abs(view[60, 50].astype(int) - expected_left).max() <= 1
    assert np.abs(view[60, 150].astype(int) - expected_right).max() <= 1
    assert frame[0, 0].tolist() == [100, 100, 100]  # the input frame is not drawn on


def test_legend_and_hud_are_drawn_in_their_corners():
    frame = np.full((240, 320, 3), 200, np.uint8)
    classes = np.zeros((240, 320), np.uint8)
    ov = Overlay(["sky", "road", "car"], PALETTE, alpha=0.0)
    plain = ov.render(frame, classes)
    assert (plain[:, :150] == 200).all()  # legend only on the right
    assert (plain[:40, -60:] != 200).any()
    hud = ov.render(frame, classes, ["12.3 fps", "mIoU 0.612"])
    assert (hud[:20, :40] != 200).any() and (hud[-40:, :150] == 200).all()


def test_alpha_out_of_range():
    with pytest.raises(ValueError):
        Overlay(["a"], PALETTE[:1], alpha=1.5)
