"""Memory lifecycle: tiers and retention, cleanup, enrichment, consolidation.

The seat of the lifecycle policies (issue 05). They sit above the backends, beside
:mod:`agentmem.retrieval`, and reach storage only through the protocols in
:mod:`agentmem.backends.base` (for example :class:`~agentmem.backends.base.ExpiredDeletion`).
Every LLM-backed piece takes the one :class:`~agentmem.lifecycle.llm.Completion` protocol.
"""

from .cleanup import CleanupReport
from .consolidation import (
    CONSOLIDATE_PROMPT,
    ConsolidationPolicy,
    ConsolidationReport,
    ExtractiveSummarizer,
    LLMSummarizer,
    Summarizer,
)
from .enrichment import ENRICH_PROMPT, LABELS, Enricher, HeuristicEnricher, LLMEnricher
from .facts import (
    EXTRACT_FACTS_PROMPT,
    EXTRACT_PROCEDURES_PROMPT,
    FactExtractor,
    HeuristicFactExtractor,
    LLMFactExtractor,
    Turns,
)
from .llm import Completion
from .retention import DEFAULT_TTL, RetentionPolicy

__all__: list[str] = [
    "CONSOLIDATE_PROMPT",
    "DEFAULT_TTL",
    "ENRICH_PROMPT",
    "EXTRACT_FACTS_PROMPT",
    "EXTRACT_PROCEDURES_PROMPT",
    "LABELS",
    "CleanupReport",
    "Completion",
    "ConsolidationPolicy",
    "ConsolidationReport",
    "Enricher",
    "ExtractiveSummarizer",
    "FactExtractor",
    "HeuristicEnricher",
    "HeuristicFactExtractor",
    "LLMEnricher",
    "LLMFactExtractor",
    "LLMSummarizer",
    "RetentionPolicy",
    "Summarizer",
    "Turns",
]
