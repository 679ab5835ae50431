"""Memory lifecycle: tiers and retention, cleanup, enrichment, consolidation.

The seat of the lifecycle policies (issue 05). They sit above the backends, beside
:mod:`agentmem.retrieval`, and reach storage only through the protocols in
:mod:`agentmem.backends.base` (for example :class:`~agentmem.backends.base.ExpiredDeletion`).
"""

__all__: list[str] = []
