"""The console script: every command, the first-hour mistakes and their answers, and the packaging
(exports, version, pytest plugin)."""
