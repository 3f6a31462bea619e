"""The one place the stream imports OpenCV: lazily, quietly, and with questions about its build.

OpenCV is optional (a Jetson brings its own, built with GStreamer), so nothing here runs at import.
"""
from __future__ import annotations

import os
import re
import sys
from types import ModuleType

from edgeseg._optional import require


def cv2_module(purpose: str) -> ModuleType:
    """Import cv2 with its own and FFmpeg's console logging off, unless the user set them:
    our errors are one line each, and FFmpeg's 'moov atom not found' would add a second."""
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # read when FFmpeg is first used
    cv2 = require("cv2", purpose)
    logging = getattr(getattr(cv2, "utils", None), "logging", None)  # absent in some older builds
    if logging is not None and "OPENCV_LOG_LEVEL" not in os.environ:
        logging.setLogLevel(logging.LOG_LEVEL_SILENT)
    return cv2


def _build_flag(cv2: ModuleType, key: str) -> str:
    m = re.search(rf"^\s*{key}:\s*(\S+)", cv2.getBuildInformation(), re.MULTILINE)
    return m.group(1) if m else "NO"


def has_gstreamer(cv2: ModuleType) -> bool:
    return _build_flag(cv2, "GStreamer").upper() == "YES"


def display_problem(cv2: ModuleType) -> str | None:
    """Why a window cannot be shown here, or None when it can."""
    if _build_flag(cv2, "GUI").upper() == "NONE":
        return "this OpenCV has no GUI support (opencv-python-headless?)"
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return "no display (DISPLAY is not set)"
    return None
