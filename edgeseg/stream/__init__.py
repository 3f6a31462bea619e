"""Streaming: sources (file, camera, CSI, RTSP, image folder), a threaded pipeline
(capture -> preprocess -> infer -> postprocess + overlay -> sink), overlay, sinks and statistics.

OpenCV is imported lazily (edgeseg.stream.opencv), so importing this package needs only numpy.
"""
from edgeseg.stream.pipeline import Pipeline, StreamReport
from edgeseg.stream.sources import Frame, Source, SourceError, open_source

__all__ = ["Pipeline", "StreamReport", "Frame", "Source", "SourceError", "open_source"]
