"""The ``agentmem`` command: one module per group of commands, sharing ``_app``'s conventions."""

from . import bench, data, doctor, monitor, ops, serve  # noqa: F401  (each registers its commands)
from ._app import app

__all__ = ["app"]
