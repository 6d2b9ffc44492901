"""The dealbrain service."""
