"""Shared pure pieces: the JSONL codec, S3 URIs, display of objects in notebooks, and small units
of several parts."""
