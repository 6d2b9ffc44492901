"""MongoDB adapters behind dealbrain's ports."""

from .sessions import MongoSessionStore, SessionConflict
from .stats import MongoRetrievalStats

__all__ = ["MongoRetrievalStats", "MongoSessionStore", "SessionConflict"]
