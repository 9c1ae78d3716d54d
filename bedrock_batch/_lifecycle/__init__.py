"""The *lifecycle* part: creating and stopping Bedrock jobs (``_lifecycle``), on-demand runs,
polling and waiting, retry planning, and the batch status. Nothing here takes the facade: each
step is given the parts it uses."""
