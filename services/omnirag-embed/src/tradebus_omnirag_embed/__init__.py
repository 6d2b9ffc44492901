"""The omnirag-embed service."""
