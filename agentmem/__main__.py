"""``python -m agentmem``: the ``agentmem`` command."""

from .cli import app

app(prog_name="agentmem")
