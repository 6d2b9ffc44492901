"""omnirag-embed's adapters: the vector store (MongoDB) and the embedding budget."""

from .vectors import BatchEmbedder, MissingChunks

__all__ = ["BatchEmbedder", "MissingChunks"]
