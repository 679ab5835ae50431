"""Retrieval policies on top of a backend's nearest neighbours: fusion, lexical, MMR."""

from .fusion import fuse_ranks
from .lexical import lexical_scores
from .mmr import MMR, mmr_select
from .pipeline import RecallRequest, run_recall

__all__ = ["MMR", "RecallRequest", "fuse_ranks", "lexical_scores", "mmr_select", "run_recall"]
