"""The *uploader* part: a batch's job parameters and identity (``_spec``), the model's quotas
(``_quotas``), cutting records into files and jobs (``_sharding``), the plan and the chunked,
content-addressed upload (``_uploader``)."""
