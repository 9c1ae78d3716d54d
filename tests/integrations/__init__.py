"""The integrations: asyncio (bedrock_batch.aio), Dask, event-driven waiting
(bedrock_batch.events), DataFrames and notebooks."""
