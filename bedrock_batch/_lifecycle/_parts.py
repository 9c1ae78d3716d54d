"""The parts of a submitted batch that move it forward, bundled for the steps that use them
(waiting, retrying, submitting): the ledger's store, the lifecycle, the reader and this
process's copy of the records. ``BatchJob`` builds the bundle; the steps never see the facade."""

from __future__ import annotations

from collections import Counter

import attrs

from .._common._clients import Clients
from .._ledger._ledgerstore import LedgerStore
from .._reader._reader import Reader
from .._records._store import RecordStore
from .._uploader._inputs import InputSource
from .._uploader._uploader import Uploader
from ._lifecycle import Lifecycle
from ._ondemand import OnDemandRunner
from ._status import BatchStatus

__all__ = ["BatchParts"]


@attrs.frozen
class BatchParts:
    """A submitted batch's parts: ``store`` (its ledger), ``lifecycle`` (its Bedrock jobs and
    on-demand runs), ``reader`` (its inputs and outputs) and ``records`` (this process's local
    copy of the records, empty for an attached batch)."""

    store: LedgerStore
    lifecycle: Lifecycle
    reader: Reader
    records: RecordStore

    @classmethod
    def wire(
        cls,
        clients: Clients,
        store: LedgerStore,
        records: RecordStore,
        *,
        concurrency: int,
        calls: Counter[str],
        token_window: float = 24 * 3600.0,
    ) -> BatchParts:
        """The parts of the batch whose ledger ``store`` holds, on ``clients`` (``calls``
        counts the control-plane calls made; ``token_window`` is how long a client request
        token names its job, ``PollConfig.create_token_window``)."""
        assert store.ledger is not None
        spec = store.ledger.spec
        runner = OnDemandRunner(
            lambda: clients.runtime,
            store.s3,
            model_id=spec.model_id,
            converse=spec.invocation_type == "Converse",
            concurrency=concurrency,
        )
        lifecycle = Lifecycle(
            clients.bedrock, store, runner, calls=calls, token_window=token_window
        )
        return cls(store, lifecycle, Reader(store.s3, InputSource(store.s3, records)), records)

    @property
    def uploader(self) -> Uploader:
        """An uploader on the batch's S3 access."""
        return Uploader(self.store.s3)

    def step(self, progress: object | None = None) -> None:
        """Move the batch forward once: upload what is planned, then let the lifecycle create
        what the quota allows and answer on-demand records. The ledger is read once, by the
        upload (one S3 GET a step; every later change is a conditional write)."""
        reader = self.reader
        self.uploader.upload_planned(
            self.store, reader.inputs, self.records, targets_of=reader.targets_of, progress=progress
        )
        self.lifecycle.advance(read=False)

    def describe(self, *, resolve: bool = True) -> BatchStatus:
        """The batch's current status (one control-plane call for all its jobs). A create
        whose answer was lost is settled first (``resolve``; see :meth:`Lifecycle.resolve`)."""
        ledger = self.store.refresh()
        if resolve and any(j.phase == "creating" for _, j in ledger.jobs()):
            self.lifecycle.resolve()
        self.lifecycle.poll()
        return self.lifecycle.status()
