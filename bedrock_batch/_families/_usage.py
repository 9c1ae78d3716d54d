"""Token usage of one record (or of many, added up), and how to say "not reported"."""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["NO_USAGE", "UNKNOWN_USAGE", "Usage", "count"]


@attrs.frozen
class Usage:
    """Token counts of one record (or of many, added up with ``+``).

    ``known`` is False when a family's output carries no counts (Mistral): the figures are then
    0 for that record, and a sum with any such part stays ``known=False`` — its counts are a
    lower bound, not the total. (A batch's :class:`~bedrock_batch.Summary` then takes the
    manifest's counts.)

    ``cache_read_tokens`` and ``cache_write_tokens`` are the prompt-cache counts the output
    reports (facts §12.4; null or absent reads as 0). Whether ``input_tokens`` already includes
    them is UNVERIFIED: :class:`~bedrock_batch.Price` has a knob for it.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    #: False when at least one part's counts were not reported (the figures are a lower bound).
    known: bool = True
    #: Input tokens read from the prompt cache.
    cache_read_tokens: int = 0
    #: Input tokens written to the prompt cache.
    cache_write_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.known and other.known,
            self.cache_read_tokens + other.cache_read_tokens,
            self.cache_write_tokens + other.cache_write_tokens,
        )


#: No tokens (shared: most results of a failed record carry it).
NO_USAGE = Usage()
#: The output reports no token counts (shared by every such result).
UNKNOWN_USAGE = Usage(known=False)


def count(value: Any) -> int:
    """A token count as an int (anything else reads as 0)."""
    return value if type(value) is int else 0
