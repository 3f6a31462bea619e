"""TensorRT calibration cache: format, version header, round trip."""
from __future__ import annotations

import struct

import numpy as np
import pytest

from edgeseg.errors import ArtifactError, InputError
from edgeseg.quant.trt_cache import decode_scale, encode_scale, header, read_cache, version_code, write_cache


def test_version_codes_follow_tensorrt_numbering():
    assert version_code("10.3.0") == 100300
    assert version_code("10.13.2.6") == 101302
    assert version_code("8.6.1") == 8601
    assert version_code("7.2") == 7200
    assert header("10.3.0") == "TRT-100300-EntropyCalibration2"
    with pytest.raises(InputError):
        version_code("ten")


def test_scales_are_big_endian_float32_hex():
    assert encode_scale(1.0) == "3f800000"
    assert encode_scale(2.0) == "40000000"
    assert decode_scale("3c010204") == struct.unpack(">f", bytes.fromhex("3c010204"))[0]


def test_cache_round_trips(tmp_path, tiny_stats):
    from edgeseg.quant.calibrators import compute_amax
    from edgeseg.quant.method import Kind, Method

    amax = compute_amax(tiny_stats, Method(Kind.ENTROPY))
    path = write_cache(tmp_path / "calibration.cache", amax, "10.3.0")
    lines = path.read_text().splitlines()
    assert lines[0] == "TRT-100300-EntropyCalibration2" and len(lines) == len(amax) + 1
    head, back = read_cache(path)
    assert head == lines[0] and list(back) == list(amax)
    for name, a in amax.items():
        assert np.float32(back[name] / 127) == np.float32(a / 127)  # the stored scale is exact float32
    write_cache(tmp_path / "again.cache", back, "10.3.0")
    assert (tmp_path / "again.cache").read_text() == path.read_text()


def test_a_damaged_cache_is_an_artifact_error(tmp_path):
    (tmp_path / "a.cache").write_text("not a cache\n")
    with pytest.raises(ArtifactError):
        read_cache(tmp_path / "a.cache")
    (tmp_path / "b.cache").write_text("TRT-100300-EntropyCalibration2\ninput: zz\n")
    with pytest.raises(ArtifactError, match="b.cache:2"):
        read_cache(tmp_path / "b.cache")
