"""Importing this package registers every architecture (one module each)."""
from edgeseg.models import deeplabv3plus, enet, linknet  # noqa: F401
