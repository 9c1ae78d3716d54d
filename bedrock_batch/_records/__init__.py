"""The *records* part: intake (``add_*``, DataFrames), record ids, the fast prompt templates and
the local record store that holds encoded lines until upload."""
