"""Tests of the uploader part: planning jobs and files within quotas (sharding) and the
content-addressed upload."""
