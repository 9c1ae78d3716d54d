"""The batch-level promises, end to end through BatchJob: every record exactly once, crash safety
(kill and restart), model-based sequences, flat memory."""
