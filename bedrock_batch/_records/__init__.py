"""The *records* part: intake (``_records``, the ``add_*`` methods in ``_intake``, DataFrames in
``_dataframes``), record ids (``_ids``), the fast prompt templates (``_templates``) and the local
record store that holds encoded lines until upload (``_store``)."""
