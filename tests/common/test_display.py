"""Readable reprs and notebook HTML of the objects a notebook cell shows."""

from __future__ import annotations

from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

from bedrock_batch import BatchJob


class _Cells(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self.tags.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.tags and self.tags[-1] == tag
        self.tags.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _html(obj: Any) -> str:
    markup = obj._repr_html_()
    parser = _Cells()
    parser.feed(markup)
    assert parser.tags == []
    return " ".join(parser.text)


def test_reprs_show_status_and_counts(make_job: Callable[..., BatchJob]) -> None:
    job = make_job()
    for i in range(120):
        job.add_prompt(f"q{i} <b>&", max_tokens=20)
    assert repr(job).startswith("<BatchJob not submitted, 120 records model=")
    assert "not submitted" in _html(job)
    plan = job.plan()
    assert repr(plan) == f"<Plan 120 records -> 1 Bedrock job(s), model={job.model_id}>"
    shown = _html(plan)
    assert "120 (" in shown and "1 Bedrock job(s)" in shown and "cost" in shown
    job.submit()
    status = job.wait()
    assert repr(status) == "BatchStatus(Completed, 120/120 records, 0 errors, 1 job)"
    assert "Completed" in _html(status) and "120 of 120 processed" in _html(status)
    assert repr(job).startswith("<BatchJob Completed 120/120 records model=")
    assert "Completed" in _html(job) and (job.state_uri or "") in _html(job)
    results = job.results()
    # counts are read on demand: right before any iteration, never zeros
    assert repr(results) == "<Results succeeded=120 errored=0 missing=0>"
    assert "120" in _html(results)
    summary = job.summary()
    assert repr(summary).startswith("<Summary Completed: 120 records, 120 succeeded")
    assert "reconciled" in _html(summary)
    assert "{" not in repr(status) + repr(job) + repr(results) + repr(summary)
