"""The records of one partition of a batch built by many processes (``bedrock_batch.dask``).

A partition's records are checked and encoded exactly as ``add_dataframe`` does in one process;
only their generated ids continue from the partition's ``offset`` (the records of the partitions
before it), so every id is the one the single-process path gives the same row, and ids are
unique across partitions without the processes talking to each other.
"""

from __future__ import annotations

from collections.abc import Iterator

from .._common._codec import encode_line
from ._ids import default_id_factory
from ._records import Records
from ._store import INDEX_FORMAT, RecordStore

__all__ = ["PartitionRecords", "index_header", "index_part_lines"]


class PartitionRecords(Records):
    """:class:`Records` whose generated ids are ``default_id_factory(offset + ordinal)``.

    Only generated ids are supported (no ``record_id`` column): the store's index knows its
    records by their ordinal in the partition, and :func:`index_part_lines` writes the keys
    under the batch's ordinals.
    """

    def __init__(
        self,
        model_id: str,
        *,
        offset: int,
        invocation_type: str = "InvokeModel",
        input_uri: str = "",
        mode: str = "auto",
    ) -> None:
        super().__init__(model_id, invocation_type=invocation_type, input_uri=input_uri, mode=mode)
        #: The batch ordinal of this partition's first record.
        self.offset = offset

    def new_id(self, also_taken: set[str] | frozenset[str] = frozenset()) -> tuple[str, bool]:
        """The batch's default id of the next record (``also_taken`` is always empty here:
        a partition's records carry no ids of the caller's)."""
        assert not also_taken
        assert self._only_defaults()
        return default_id_factory(self.offset + len(self.store)), True

    def record_id(self, ordinal: int) -> str:
        """The id of the partition's record ``ordinal``."""
        return default_id_factory(self.offset + ordinal)


def index_part_lines(store: RecordStore, offset: int) -> Iterator[bytes]:
    """This partition's lines of the batch's ``index.jsonl`` (keys, by batch ordinal): the
    lines after its header, in the format :meth:`RecordIndex.index_lines` writes."""
    index = store.index
    for ordinal in range(len(store)):
        key = index.encoded_key_at(ordinal)
        if key is not None:
            yield b"".join((b'{"n":', str(offset + ordinal).encode(), b',"key":', key, b"}\n"))


def index_header(records: int) -> bytes:
    """The first line of an ``index.jsonl`` of ``records`` records."""
    return encode_line({"format": INDEX_FORMAT, "records": records})
