"""The batch's typed ledger (``_ledger``) and its store in S3 (``_ledgerstore``), written before
each action it announces; the only shared state between the parts and between processes."""
