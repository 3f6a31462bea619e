"""A ROS 2 node around an edgeseg artifact: subscribes to a camera image, publishes the class mask
and, once a second, a diagnostics message with fps and latency percentiles. See docs/ros2.md.

    source /opt/ros/humble/setup.bash
    python3 examples/ros2_node.py --ros-args -p artifact:=build/enet-int8 -r image:=/camera/image_raw

Topics
- subscribes `image` (sensor_msgs/Image, bgr8 or rgb8), sensor-data QoS (best effort, depth 1):
  when the model is slower than the camera, stale frames are dropped before they queue up.
- publishes `segmentation/mask` (sensor_msgs/Image, mono8, pixel = class index, same header as the
  input so it lines up with it in time and frame), and `/diagnostics`
  (diagnostic_msgs/DiagnosticArray: fps, predict p50/p90/p99 over the last period, age of the
  input when it was done, back end, precision, the artifact's val mIoU).

No cv_bridge needed: images are converted with numpy.
"""
from __future__ import annotations

import time

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from rclpy.time import Time
from sensor_msgs.msg import Image

import edgeseg
from edgeseg.stream.stats import LatencyHistogram


def image_to_bgr(msg: Image) -> np.ndarray:
    """sensor_msgs/Image (bgr8 or rgb8, any row padding) -> BGR uint8 (H, W, 3), no copy for bgr8."""
    if msg.encoding not in ("bgr8", "rgb8"):
        raise ValueError(f"expected a bgr8 or rgb8 image, got {msg.encoding}")
    rows = np.frombuffer(msg.data, np.uint8).reshape(msg.height, msg.step)
    frame = rows[:, : msg.width * 3].reshape(msg.height, msg.width, 3)
    return frame[:, :, ::-1] if msg.encoding == "rgb8" else frame


def mask_message(classes: np.ndarray, header) -> Image:
    h, w = classes.shape
    return Image(header=header, height=h, width=w, encoding="mono8", is_bigendian=0, step=w, data=classes.tobytes())


class SegmentationNode(Node):
    def __init__(self) -> None:
        super().__init__("edgeseg")
        self.declare_parameter("artifact", "enet")
        self.declare_parameter("backend", "auto")
        self.declare_parameter("diagnostics_period", 1.0)
        artifact = self.get_parameter("artifact").value
        self.seg = edgeseg.load(artifact, backend=self.get_parameter("backend").value)
        self.get_logger().info(f"loaded {self.seg}")
        self.mask_pub = self.create_publisher(Image, "segmentation/mask", 1)
        self.diag_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.create_subscription(Image, "image", self.on_image, qos_profile_sensor_data)
        self.latency, self.age = LatencyHistogram(), LatencyHistogram()  # over one diagnostics period
        self.period_start = time.perf_counter()
        self.create_timer(self.get_parameter("diagnostics_period").value, self.publish_diagnostics)

    def on_image(self, msg: Image) -> None:
        try:
            frame = image_to_bgr(msg)
        except ValueError as e:
            self.get_logger().error(str(e), throttle_duration_sec=5.0)
            return
        t0 = time.perf_counter()
        classes = self.seg.predict(frame)
        self.latency.add(time.perf_counter() - t0)
        self.mask_pub.publish(mask_message(classes, msg.header))
        self.age.add((self.get_clock().now() - Time.from_msg(msg.header.stamp)).nanoseconds / 1e9)

    def publish_diagnostics(self) -> None:
        now = time.perf_counter()
        frames, seconds = self.latency.count, now - self.period_start
        r, m = self.seg.runner, self.seg.manifest
        ms = lambda h, q: "-" if h.percentile(q) is None else f"{h.percentile(q) * 1e3:.1f}"  # noqa: E731
        status = DiagnosticStatus(
            level=DiagnosticStatus.OK if frames else DiagnosticStatus.WARN,
            name="edgeseg: segmentation",
            hardware_id=f"{r.name}/{r.device}",
            message=f"{frames / seconds:.1f} fps" if frames else "no images received",
            values=[KeyValue(key=k, value=str(v)) for k, v in (
                ("fps", f"{frames / seconds:.2f}"),
                ("predict_p50_ms", ms(self.latency, 50)),
                ("predict_p90_ms", ms(self.latency, 90)),
                ("predict_p99_ms", ms(self.latency, 99)),
                ("input_age_p50_ms", ms(self.age, 50)),
                ("model", m.model),
                ("backend", r.name),
                ("precision", r.precision),
                ("val_miou", m.metrics.get("val_miou", "-")),
            )],
        )
        msg = DiagnosticArray(status=[status])
        msg.header.stamp = self.get_clock().now().to_msg()
        self.diag_pub.publish(msg)
        self.latency, self.age, self.period_start = LatencyHistogram(), LatencyHistogram(), now

    def destroy_node(self) -> None:
        self.seg.close()
        super().destroy_node()


def main(args=None) -> None:
    rclpy.init(args=args)
    node = SegmentationNode()
    try:
        rclpy.spin(node)
    except KeyboardInterrupt:  # Ctrl-C is how a node is stopped
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
