"""The shadowhunter service."""
