"""Data: registry-package sources (sources.py) fetched into a per-user cache. Parsers and splits
live beside each task."""
