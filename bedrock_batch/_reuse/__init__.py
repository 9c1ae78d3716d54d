"""Answering records without sending them: ``dedupe=True`` (identical bodies of one batch sent
once, the answer fanned out to every record that asked) and ``reuse="s3://..."`` (an answer
cache keyed by content, whose entries are verified against the job output that paid for them).

``_keys`` makes the content keys, ``_dedupe`` chooses what a batch sends and writes its fan-out
map, ``_cache`` publishes and looks up answers, ``_reusing`` wires them to :class:`BatchJob`.
Nothing here is imported by the parts below it (records, uploader, ledger, lifecycle, reader).
"""
