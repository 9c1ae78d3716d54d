"""Model families: everything that differs from one request family to the next.

One module per family (``_anthropic``, ``_titan_text``, ``_titan_embed``, ``_llama``,
``_mistral``, ``_nova``, ``_converse``; ``_unknown`` stands in for a model no family knows)
behind one protocol (``_protocol.ClientFamily``): how to build its bodies, check them, force a
tool or ask for native structured output, read text, tool input, stop reason, embedding and token
usage (``_usage``) back from its output, and estimate its tokens. The registry (``_registry``)
maps any model id spelling to its family; ``_builders``, ``_schemas``, ``_structured`` and
``_outputs`` are the thin dispatch the parts call. Nothing outside this package (and Local
Bedrock's own ``local/_families``) compares family names. Adding a family: docs/contributing.md.
"""
