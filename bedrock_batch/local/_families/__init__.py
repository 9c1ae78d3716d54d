"""Local Bedrock's model families: one module per family (``_anthropic``, ``_titan_text``,
``_titan_embed``, ``_llama``, ``_mistral``, ``_nova``, ``_converse``) behind one protocol
(``_protocol.EmulatedFamily``) and its registry (``_registry``): each family's own request rules
(written from the facts, never imported from the client), its synthetic answers and its usage
accounting. Shared pieces: refusal phrasing (``_rules_common``), message rules (``_rules_messages``),
the text generator (``_synthetic``), schema instances, model-id resolution (``_models``), and who
answers a record (``_context``, ``_responders``, ``_answers``)."""
