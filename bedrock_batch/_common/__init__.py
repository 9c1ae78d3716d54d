"""Plumbing below the parts: JSON on the wire (``_codec``), the one S3 access object (``_s3``),
``s3://`` URIs, where boto3 clients come from, typed views of Bedrock jobs and their control-plane
calls (``_bedrock``), botocore's service model as request checks (``_shapes``), progress displays,
the text/HTML renderer that turns plain rows into tables (``_display``), and the filter that
keeps credentials out of log lines (``_redact``). Nothing here knows a part or the facade."""
