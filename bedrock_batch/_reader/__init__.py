"""The *reader* part: a batch's output sources (``_reader``), the join by ``recordId``
(``_results``), the public :class:`Results` (``_resultset``), accounting and reconciliation
(``_summary``), partitions for clusters (``_partitions``), and every export of results once —
JSONL, CSV, Parquet, Arrow, pandas (``_export``; the formats and orders are defined in
``_formats``)."""
