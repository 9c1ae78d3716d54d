"""The wait's progress display and poll pacing, on a fake clock (no timed assertions)."""

from __future__ import annotations

import io

import attrs
import pytest

from bedrock_batch import PollConfig
from bedrock_batch._common._progress import ProgressDisplay, clock_text, sliced
from bedrock_batch._lifecycle._polling import Pacer
from bedrock_batch.local import LocalBedrock, Timings

from ..conftest import job_on


@attrs.frozen
class Status:
    status: str
    total_records: int | None = None
    processed_records: int | None = None
    errored_records: int | None = 0
    job_id: str = "abc123"

    @property
    def is_terminal(self) -> bool:
        return self.status in ("Completed", "Failed", "Stopped", "Expired", "PartiallyCompleted")


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_live_display_redraws_between_polls_with_a_moving_clock() -> None:
    clock, stream = FakeClock(), io.StringIO()
    display = ProgressDisplay(stream=stream, clock=clock, live=True)
    display.update(Status("Scheduled", 500, 0))
    sliced(3.0, clock.sleep, display)  # a 3 s pause between polls
    frames = stream.getvalue().split("\r")[1:]
    assert len(frames) >= 1 + 3  # at least once a second between the polls
    assert [f.rstrip()[-4:] for f in frames] == ["0:00", "0:00", "0:01", "0:01", "0:02", "0:02", "0:03"]  # fmt: skip
    display.update(Status("InProgress", 500, 120))
    display.update(Status("InProgress", 500, 500))
    display.update(Status("Completed", 500, 500))
    display.close()
    text = stream.getvalue()
    assert "Scheduled" in text and "120/500 records" in text and "finishing" in text
    assert text.endswith("\n") and "Completed" in text.split("\r")[-1]


def test_log_display_writes_one_line_per_change() -> None:
    clock, stream = FakeClock(), io.StringIO()
    display = ProgressDisplay(stream=stream, clock=clock, live=False)
    for status in (
        Status("Submitted"),
        Status("Validating"),
        Status("Validating"),
        Status("Scheduled", 300, 0),
        Status("InProgress", 300, 100, 2),
        Status("InProgress", 300, 100, 2),
        Status("InProgress", 300, 300, 3),
        Status("Completed", 300, 300, 3),
    ):
        display.update(status)
        sliced(2.0, clock.sleep, display)
    display.close()
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue()
    assert [line.split()[1] for line in lines] == [
        "Submitted", "Validating", "Scheduled", "InProgress", "finishing", "Completed",
    ]  # fmt: skip
    assert lines[3].endswith("100/300 records  33.3%  2 errors  0:08")
    assert lines[-1].endswith("0:14")


def test_a_finished_job_shows_its_final_state_only() -> None:
    stream = io.StringIO()
    display = ProgressDisplay(stream=stream, clock=FakeClock(), live=False)
    display.update(Status("Completed", 144000, 144000))
    display.close()
    assert stream.getvalue() == "abc123  Completed          144000/144000 records 100.0%  0 errors  0:00\n"  # fmt: skip


def test_clock_text() -> None:
    assert [clock_text(s) for s in (0, 59.9, 61, 3725)] == ["0:00", "0:59", "1:01", "1:02:05"]


def test_pacer_restarts_at_each_phase_and_tightens_near_the_end() -> None:
    pacer = Pacer(PollConfig(initial=1, max_interval=60, jitter=0))
    pauses = [pacer.next(Status("Submitted")) for _ in range(4)]
    assert pauses == [1, 2, 4, 8]
    assert pacer.next(Status("Scheduled", 1000, 0)) == 1  # a new phase starts again
    progress = [pacer.next(Status("InProgress", 1000, done)) for done in (0, 100, 200, 600, 900)]
    assert progress[:3] == [1, 2, 4]  # far from the end: doubling within the phase
    # 600 records in 7 s, 400 left: about 4.7 s to go; the pause is half of that, not 8 s
    assert progress[3] == pytest.approx(7 / 3)
    assert progress[4] == 1  # 100 left: polls close together near the end
    assert pacer.next(Status("InProgress", 1000, 1000)) == 1  # finishing: a new phase
    assert pacer.next(None) == 2  # a failed poll keeps the phase


def test_pacer_without_adaptation_is_plain_backoff() -> None:
    pacer = Pacer(PollConfig(initial=1, max_interval=5, jitter=0, adaptive=False))
    assert [pacer.next(Status(s)) for s in ("Submitted", "Scheduled", "InProgress", "InProgress")] == [1, 2, 4, 5]  # fmt: skip


def test_pacer_jitter_stays_small_next_to_short_pauses() -> None:
    pacer = Pacer(PollConfig())
    assert all(0.5 <= pacer.next(Status(f"S{i}")) <= 0.625 for i in range(50))


def test_a_sub_second_job_is_seen_ending_within_a_second(
    capsys: pytest.CaptureFixture[str],
) -> None:
    slept: list[float] = []
    quick = Timings(submitted=0.1, validating=0.1, scheduled=0.1, records_per_second=1000)
    with LocalBedrock(clock="manual", timings=quick) as local:

        def sleep(seconds: float) -> None:
            slept.append(seconds)
            local.advance(seconds)

        job = job_on(local, poll=PollConfig(), sleep=sleep)
        for i in range(100):
            job.add_prompt(f"q{i}", max_tokens=20)
        job.submit()
        job.wait(progress=True)
    # the job takes 0.4 s of its clock; the polls see it end within the next half second
    assert sum(slept) < 1.0, slept
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1].split()[1] == "Completed"
