"""Tests of the lifecycle part: creating jobs within quotas, on-demand runs, many jobs, retries,
waiting and its progress display."""
