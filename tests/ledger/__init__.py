"""Tests of the ledger: its transitions, the stored format, conditional writes, and ledgers from
earlier versions."""
