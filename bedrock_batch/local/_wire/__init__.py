"""Local Bedrock's wire layer (moto's ``responses``/``urls``): transport-neutral HTTP, the
in-process botocore hooks, routing, request parsing and response shapes, the loopback server, and
the checks botocore's service model implies but botocore skips."""
