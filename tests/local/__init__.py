"""Local Bedrock (bedrock_batch.local) on its own, through real boto3 clients: control plane, data
plane, lifecycle, runtime, events, server mode."""
