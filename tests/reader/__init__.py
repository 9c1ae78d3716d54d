"""Tests of the reader part: reading outputs, joining them to the inputs, anomalies, results and
summaries."""
