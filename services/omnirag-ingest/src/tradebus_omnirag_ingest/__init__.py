"""The omnirag-ingest service."""
