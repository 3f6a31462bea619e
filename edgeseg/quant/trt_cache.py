"""TensorRT's calibration cache, written from our scales, for implicit-quantization builds.

TensorRT 10 (JetPack 6) still builds INT8 engines from a calibration cache; TensorRT 11 removed
implicit calibration, where the Q/DQ graph is the way. The cache is plain text:

    TRT-100300-EntropyCalibration2
    input: 3c010a14
    /encoder/conv1/Conv_output_0: 3d1e3a2b

one line per tensor (TensorRT names ONNX tensors after the ONNX graph), the value being the
per-tensor scale amax / 127 as the big-endian IEEE-754 float32 hex. The header carries the
TensorRT version as `getInferLibVersion()` reports it (major*10000 + minor*100 + patch from
TensorRT 10; major*1000 + minor*100 + patch before). TensorRT ignores a cache whose header
version is not its own and falls back to calibrating, so write it for the TensorRT that builds.
ONNX Runtime's `write_calibration_table` writes a different format (its TensorRT execution
provider's flatbuffers and a "name amax" text file), so this one is written here.
"""
from __future__ import annotations

import struct
from pathlib import Path

from packaging.version import InvalidVersion, Version

from edgeseg.errors import ArtifactError, InputError
from edgeseg.fileio import write_text

QMAX = 127
ALGORITHM = "EntropyCalibration2"
JETPACK6_TENSORRT = "10.3.0"


def version_code(tensorrt_version: str) -> int:
    """'10.3.0' -> 100300, '8.6.1' -> 8601: the number TensorRT puts in the cache header."""
    try:
        v = Version(tensorrt_version)
    except InvalidVersion:
        raise InputError(f"not a TensorRT version: {tensorrt_version!r}") from None
    major, minor, patch = (list(v.release) + [0, 0])[:3]
    return major * 10000 + minor * 100 + patch if major >= 10 else major * 1000 + minor * 100 + patch


def header(tensorrt_version: str = JETPACK6_TENSORRT, algorithm: str = ALGORITHM) -> str:
    return f"TRT-{version_code(tensorrt_version)}-{algorithm}"


def encode_scale(scale: float) -> str:
    return struct.pack(">f", scale).hex()


def decode_scale(text: str) -> float:
    return struct.unpack(">f", bytes.fromhex(text))[0]


def cache_text(amax: dict[str, float], tensorrt_version: str = JETPACK6_TENSORRT) -> str:
    lines = [header(tensorrt_version)]
    for name, a in amax.items():
        if ":" in name or "\n" in name:
            raise InputError(f"tensor name {name!r} cannot be written to a TensorRT calibration cache")
        lines.append(f"{name}: {encode_scale(a / QMAX)}")
    return "\n".join(lines) + "\n"


def write_cache(path: str | Path, amax: dict[str, float], tensorrt_version: str = JETPACK6_TENSORRT) -> Path:
    """Write the cache for tensors with these amax values (scale = amax / 127), atomically."""
    write_text(path, cache_text(amax, tensorrt_version))
    return Path(path)


def read_cache(path: str | Path) -> tuple[str, dict[str, float]]:
    """(header, {tensor: amax}) of a TensorRT calibration cache."""
    lines = Path(path).read_text().splitlines()
    if not lines or not lines[0].startswith("TRT-"):
        raise ArtifactError(f"{path} is not a TensorRT calibration cache (first line should be TRT-<version>-<algorithm>)")
    amax = {}
    for n, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        name, sep, value = line.rpartition(": ")
        try:
            if not sep:
                raise ValueError
            amax[name] = decode_scale(value.strip()) * QMAX
        except ValueError:
            raise ArtifactError(f"{path}:{n}: expected '<tensor>: <8 hex digits>', got {line!r}") from None
    return lines[0], amax
