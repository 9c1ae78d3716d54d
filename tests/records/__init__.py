"""Tests of the records part: intake (prompts, JSONL, DataFrames), the record store, ids, and
inputs refused before anything is paid for."""
