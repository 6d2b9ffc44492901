"""MongoDB adapters behind dealbrain's ports."""

from .sessions import MongoSessionStore, SessionConflict
from .stats import BufferedRetrievalStats, MongoRetrievalStats

__all__ = [
    "BufferedRetrievalStats",
    "MongoRetrievalStats",
    "MongoSessionStore",
    "SessionConflict",
]
