"""Retrieval policies on top of a backend's nearest neighbours: fusion, lexical, MMR."""

from .config import RetrievalConfig
from .fusion import FUSION_DEPTH, fuse_scores
from .lexical import bm25_top
from .mmr import MMR, mmr_select
from .pipeline import RecallRequest, run_recall

__all__ = ["FUSION_DEPTH", "MMR", "RecallRequest", "RetrievalConfig", "bm25_top", "fuse_scores",
           "mmr_select", "run_recall"]
