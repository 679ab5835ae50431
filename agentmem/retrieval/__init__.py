"""Retrieval policies on top of a backend's nearest neighbours: fusion, lexical, MMR."""

from .fusion import fuse_ranks
from .lexical import bm25_top
from .mmr import MMR, mmr_select
from .pipeline import RecallRequest, run_recall

__all__ = ["MMR", "RecallRequest", "bm25_top", "fuse_ranks", "mmr_select", "run_recall"]
