"""Importing this package registers every architecture (one module each)."""
from edgeseg.models import deeplabv3plus, enet, linknet  # noqa: F401
from edgeseg.models import (  # noqa: F401
    context_module,
    deeplab_v1,
    deeplab_v2,
    deeplab_v3,
    fcn,
    fpn,
    gfrnet,
    pspnet,
    refinenet,
    segnet,
    unet,
)
