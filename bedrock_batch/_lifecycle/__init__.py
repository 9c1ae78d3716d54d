"""The *lifecycle* part: creating and stopping Bedrock jobs (``_lifecycle``), on-demand runs
(``_ondemand``), polling (``_polling``) and waiting (``_waiting``, ``_aio``), retry planning
(``_retry``), and one status for a batch of many jobs (``_status``). Nothing here takes the
facade: waiting and retry are given the typed bundle of parts they use (``_parts``)."""
