"""``python -m agentmem.cli``."""

from . import app

app()
