"""A job's work on the local disk: its staged input files and its position in them.

The data plane fills it (:mod:`._dataplane`); a :class:`~._lifecycle.Job` carries it.
"""

from __future__ import annotations

import os
import random
import shutil
from typing import IO, Any

import attrs

__all__ = ["JobWork", "StagedFile"]


@attrs.define
class StagedFile:
    """One input file, copied locally."""

    key: str  # S3 key of the input
    rel: str  # its output name, relative to {output}/{jobId}/
    path: str  # local copy
    records: int
    out_key: str = ""  # S3 key of its output


@attrs.define(eq=False)
class JobWork:
    """A job's files on the local disk and its position in them."""

    files: list[StagedFile]
    tmpdir: str
    shuffle: random.Random
    window: int
    file_index: int = 0
    line_no: int = 0
    reader: IO[bytes] | None = None
    writer: IO[bytes] | None = None
    out_paths: list[str] = attrs.field(factory=list)
    buffer: list[bytes] = attrs.field(factory=list)
    written: bool = False
    #: Where outputs go: the bucket and the arguments of every write.
    out_bucket: str = ""
    out_prefix: str = ""
    out_extra: dict[str, Any] = attrs.field(factory=dict)

    def next_line(self) -> bytes | None:
        while self.file_index < len(self.files):
            if self.reader is None:
                self.reader = open(self.files[self.file_index].path, "rb")  # noqa: SIM115
                out_path = os.path.join(self.tmpdir, f"out-{self.file_index}")
                self.out_paths.append(out_path)
                self.writer = open(out_path, "wb")  # noqa: SIM115
            line = self.reader.readline()
            if line:
                self.line_no += 1
                return line
            self._next_file()
        return None

    def emit(self, line: bytes) -> None:
        """Buffer one output line; every ``window`` lines, write a shuffled half of the buffer."""
        buffer = self.buffer
        buffer.append(line)
        if len(buffer) >= 2 * self.window:
            self.shuffle.shuffle(buffer)
            assert self.writer is not None
            self.writer.writelines(buffer[: self.window])
            del buffer[: self.window]

    def _next_file(self) -> None:
        self.shuffle.shuffle(self.buffer)
        if self.writer is not None:
            self.writer.writelines(self.buffer)
            self.writer.close()
        self.buffer.clear()
        if self.reader is not None:
            self.reader.close()
        self.reader = self.writer = None
        self.file_index += 1

    def finish(self) -> list[tuple[StagedFile, str | None]]:
        """Close everything; pairs each input with its output file (None if never reached)."""
        if self.reader is not None:
            self._next_file()
        paths = self.out_paths
        return [(f, paths[i] if i < len(paths) else None) for i, f in enumerate(self.files)]

    def discard(self) -> None:
        """Close and delete everything."""
        for handle in (self.reader, self.writer):
            if handle is not None:
                handle.close()
        self.reader = self.writer = None
        shutil.rmtree(self.tmpdir, ignore_errors=True)
