"""Model families: everything that differs from one request family to the next.

How to build a family's bodies, check them, force a tool or ask for native structured output, read
text, tool input, stop reason and token usage back from its output, and estimate its tokens. One
module per family behind one protocol; the registry maps any model id spelling to its family.
Nothing outside this package (and Local Bedrock's own ``local/_families``) compares family names.
"""
