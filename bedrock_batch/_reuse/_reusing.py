"""``dedupe=`` and ``reuse=`` of one :class:`~bedrock_batch.BatchJob`: what its plan sends,
what its ledger records before anything is sent, and the answers it publishes once it ended.

The batch's identity (:meth:`Reusing.batch_id`) is a hash of every record and both options,
never of the choice: what the cache holds at a given moment does not change it. The choice is
made once per handle, at the first :meth:`plan` or :meth:`submit`: when a ledger already exists
under the identity (the same script run again after a crash), the choice it stored is resumed
(what was sent, reused and fanned out, read back from its ``fanout.jsonl``) without looking the
cache up again; only a new batch looks the cache up.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import weakref
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from .._batch._spec import JobSpec, content_id
from .._common._clients import Clients
from .._common._codec import decode
from .._common._s3 import S3Access
from .._common._s3uri import S3Uri
from .._errors import Problem, ServiceError, ValidationError
from .._families._outputs import Usage
from .._families._registry import family_for
from .._families._structured import parse_answer
from .._ledger._ledger import FANOUT_NAME, LEDGER_NAME, REUSED_FOLDER, FanOut, Ledger
from .._pricing import Cost, Price, price_for
from .._records._records import Records
from .._records._store import RecordStore
from .._uploader._uploader import Plan, open_ledger
from ._cache import Entry, Refusals, Verifier, lookup, publish
from ._dedupe import Selection, choose
from ._keys import shard_of

if TYPE_CHECKING:
    from .._ledger._ledgerstore import LedgerStore
    from .._reader._resultset import Results

__all__ = ["Reusing"]

log = logging.getLogger("bedrock_batch")

#: The reused answers' file in the batch's ``reused/`` folder.
REUSED_FILE = "answers.jsonl.out"


class Reusing:
    """The options and, once planned, the choice (:class:`Selection`) of one handle."""

    def __init__(self, dedupe: bool = False, cache: str | None = None) -> None:
        if cache is not None:
            try:
                S3Uri.parse(cache)
            except ValueError as err:
                raise ValidationError(
                    "invalid answer cache", [Problem(str(err), field="reuse")]
                ) from err
        self.dedupe = dedupe
        self.cache = None if cache is None else cache.rstrip("/") + "/"
        #: The choice made for the records (what is sent, reused, fanned out), once made.
        self.selection: Selection | None = None
        self._chosen_for: tuple[str, int] = ("", 0)  # the records the selection was made for
        #: The batch's content id (its folder), once chosen: see :meth:`batch_id`.
        self.batch_cid: str | None = None
        self._verifier: Verifier | None = None
        #: Cache entries not served, and why (forged, stale, or a schema they now break):
        #: counts by reason and the first few (bounded).
        self.refused = Refusals()
        self._usage: tuple[Selection, Usage] | None = None  # of the records sent (annotate)

    @classmethod
    def of(cls, dedupe: bool, reuse: str | None) -> Reusing | None:
        """The options, or None when neither is asked for."""
        return cls(dedupe, reuse) if dedupe or reuse is not None else None

    @classmethod
    def of_ledger(cls, ledger: Ledger) -> Reusing | None:
        """What an attached handle publishes to: the cache its batch was submitted with."""
        cache = ledger.fanout.cache if ledger.fanout else None
        return cls(False, cache) if cache else None

    @property
    def chosen(self) -> RecordStore | None:
        """The records this batch sends, once chosen (by :meth:`sent`)."""
        return self.selection.sent if self.selection is not None else None

    def annotate(self, plan: Plan, records: Records, prices: Mapping[str, Price]) -> Plan:
        """The plan with the records the choice made does not send, and its token estimate
        and cost of the records it sends only (the others cost nothing)."""
        sel = self.selection
        if sel is None:
            return plan
        plan = attrs.evolve(plan, deduplicated=sel.deduplicated, reused=sel.reused)
        if not sel.extra:
            return plan
        if self._usage is None or self._usage[0] is not sel:  # one pass per choice
            tokens = out = 0
            for line in sel.sent.iter_lines():
                estimate = records._estimate(decode(line).get("modelInput"), line, None)
                tokens, out = tokens + estimate[0], out + estimate[1]
            self._usage = (sel, Usage(tokens, out))
        upper, price = self._usage[1], price_for(plan.model_id, prices)
        batch, on_demand = (price.cost(upper, batch=b) if price else None for b in (True, False))
        cost = Cost(batch, on_demand)
        return attrs.evolve(plan, estimated_input_tokens=upper.input_tokens, max_output_tokens=upper.output_tokens, cost=cost)  # fmt: skip

    def batch_id(self, records: Records, spec: JobSpec, requested_mode: str) -> str:
        """The batch's content id: every record (all of them, not the ones sent), both options
        and the parameters; the cache's state is no part of it."""
        salt = f"bedrock-batch fan-out/2 dedupe={self.dedupe} reuse={self.cache is not None}"
        digest = hashlib.sha256(f"{records.store.content_digest()}\n{salt}".encode()).hexdigest()
        return content_id(digest, spec, f"fan-out:{requested_mode}")

    def sent(
        self, records: Records, spec: JobSpec, clients: Clients, requested_mode: str = "auto"
    ) -> RecordStore:
        """The records this batch sends (chosen again only when records were added since):
        the stored choice of the batch's ledger when there is one, else a new choice."""
        digest = records.store.content_digest()
        if self.selection is not None and (digest, len(records.store)) != self._chosen_for:
            self.selection.close()  # records were added after a plan(): choose again
            self.selection, self._verifier = None, None
        if self.selection is None:
            self._chosen_for = (digest, len(records.store))
            self.batch_cid = self.batch_id(records, spec, requested_mode)
            s3 = S3Access(clients.s3, bucket_owner=spec.bucket_owner)
            self.selection = stored_choice(s3, spec.root.join(self.batch_cid), records.store)
            if self.selection is None:  # a new batch: only now is the cache looked up
                serve = None if self.cache is None else lambda by_key: self._serve(by_key, records, spec, clients)  # fmt: skip
                try:
                    self.selection = choose(records.store, spec.model_id, spec.invocation_type, dedupe=self.dedupe, serve=serve)  # fmt: skip
                except ServiceError as err:
                    if err.code != "NoSuchBucket":
                        raise
                    why = f"the answer cache {self.cache} cannot be read: its bucket does not exist"
                    raise ValidationError("invalid answer cache", [Problem(why, field="reuse")]) from err  # fmt: skip
                if self._verifier is not None:  # one warning for the batch, not one an entry
                    self._verifier.report()
                    self.refused = self._verifier.refused
            else:
                log.info("resuming the choice stored with batch %s (the cache is not looked up again)", self.batch_cid)  # fmt: skip
            weakref.finalize(self, self.selection.close)  # its files, when the handle goes
        return self.selection.sent

    def _serve(
        self, by_key: Mapping[bytes, list[int]], records: Records, spec: JobSpec, clients: Clients
    ) -> Iterator[tuple[bytes, dict[str, Any], dict[str, str]]]:
        assert self.cache is not None
        wanted: dict[str, set[bytes]] = {}
        for key in by_key:
            wanted.setdefault(shard_of(key), set()).add(key)
        s3 = S3Access(clients.s3, bucket_owner=spec.bucket_owner)
        if self._verifier is None:  # one for every shard: a job is described once
            role = spec.role_arn.split(":")
            account = role[4] if len(role) > 4 and role[4] else None  # the batch's own account
            region = clients.bedrock.meta.region_name
            self._verifier = Verifier(s3, clients.bedrock, spec.model_id, spec.invocation_type, account=account, region=region)  # fmt: skip
        verifier = self._verifier
        family = family_for(spec.model_id, spec.invocation_type)
        models = dict(records.output_models)

        def accept(entry: Entry, answer: dict[str, Any]) -> bool:
            request, output = answer.get("modelInput"), answer["modelOutput"]
            problem = parse_answer(request, output, models, family, spec.invocation_type)[2]
            if problem is not None:  # the schema as it is now: the record is sent again
                verifier.refuse(entry, f"the current schema rejects it: {problem}")
            return problem is None

        for entry, answer in lookup(s3, verifier, self.cache, wanted, accept):
            yield entry.key, answer, {"batch": entry.batch, "job_arn": entry.job_arn}

    def open(
        self, s3: S3Access, plan: Plan, spec: JobSpec, rejected: list[Problem], legacy_id: str
    ) -> tuple[LedgerStore, RecordStore]:
        """The batch's ledger, its fan-out stored first: ``fanout.jsonl`` and the reused
        answers' copies in its own folder (when the ledger is not there yet)."""
        sel = self.selection
        assert sel is not None
        folder = spec.root.join(plan.content_id)
        if not s3.exists(S3Uri.parse(plan.state_uri)):
            if sel.extra:
                sel.fanout.seek(0)
                s3.upload_bytes(folder.join(FANOUT_NAME), sel.fanout, metadata={})
            if sel.reused:
                sel.answers.seek(0)
                s3.upload_bytes(folder.join(REUSED_FOLDER + REUSED_FILE), sel.answers, metadata={})
        sel.answers.close()  # (the sent records are the batch's: closed with it)
        sel.fanout.close()
        fanout = FanOut(sel.extra, sel.deduplicated, sel.reused, self.cache)
        return open_ledger(s3, plan, spec, rejected, legacy_id=legacy_id, fanout=fanout), sel.sent

    def publish(
        self, results_of: Callable[[], Results], ledger: Ledger | None, state_uri: str | None
    ) -> int:
        """Publish the ended batch's succeeded answers (those of its Bedrock jobs: an answer
        no job wrote cannot be verified) to the cache; returns the entries written."""
        if self.cache is None or ledger is None or not ledger.job_arns:
            return 0
        spec, results = ledger.spec, results_of()
        bucket = S3Uri.parse(spec.output_uri).bucket  # a job's output lines are in its bucket
        answers = (
            (r.record_id, r.job_arn, f"s3://{bucket}/{r.source.rsplit(':', 1)[0]}", r.model_input)
            for r in results
            if r.status == "succeeded" and r.job_arn and r.source and r.reused_from is None
        )
        try:
            return publish(results._s3, self.cache, state_uri or ledger.batch_id, spec.model_id, spec.invocation_type, answers)  # fmt: skip
        except ServiceError as err:  # the batch is done either way: say so, do not fail it
            log.warning("the answers of %s were not published to %s (%s); a later wait() or an attached handle's publishes them", state_uri, self.cache, err)  # fmt: skip
            return 0


def stored_choice(s3: S3Access, folder: S3Uri, store: RecordStore) -> Selection | None:
    """The choice a batch stored beside its ledger (None when there is no ledger): the records
    its ``fanout.jsonl`` does not list are the ones it sent, in their order."""
    if not s3.exists(folder.join(LEDGER_NAME)):
        return None
    answered = bytearray(len(store))
    twins = reused = 0
    if s3.exists(folder.join(FANOUT_NAME)):
        for _, raw in s3.lines(folder.join(FANOUT_NAME)):
            if raw.strip():
                line = decode(raw)
                answered[int(line["at"])] = 1
                reused += bool(line.get("reused"))
                twins += not line.get("reused")
    sent, index = RecordStore(), store.index
    for ordinal, line in enumerate(store.iter_lines()):
        if not answered[ordinal]:
            sent.append_line(index.id_at(ordinal), line, index.encoded_key_at(ordinal))
    spill = tempfile.TemporaryFile(prefix="bedrock-batch-fanout-")  # noqa: SIM115
    answers = tempfile.TemporaryFile(prefix="bedrock-batch-reused-")  # noqa: SIM115
    return Selection(sent, spill, answers, twins, reused)
