"""What defines a batch, below the ledger that records it and the parts that act on it: its job
parameters and the identity derived from them (``_spec``), the model's quotas and where their
values come from (``_quotas``), and the cut of its records into input files and jobs
(``_sharding``). Value types and pure functions: no I/O, no part."""
