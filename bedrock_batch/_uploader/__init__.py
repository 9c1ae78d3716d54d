"""The *uploader* part: the plan of a batch (files and jobs under the model's quotas, from
:mod:`.._batch`) and the chunked, content-addressed upload of its input files
(``_uploader``); reading those inputs back, for retries and for missing records' bodies
(``_inputs``)."""
