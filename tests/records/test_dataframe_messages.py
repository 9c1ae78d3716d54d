"""``add_dataframe``'s messages: a row is named by its index label (its 0-based position only
when the labels are not unique), and ``text=`` with a model that generates text is refused once,
suggesting ``prompt=``, instead of once a row."""

from __future__ import annotations

import pandas as pd
import pytest

from bedrock_batch import BatchJob, ValidationError

from ..conftest import HAIKU, ROLE, track


def _job(model: str = HAIKU) -> BatchJob:
    return track(BatchJob(model, ROLE, "s3://bkt/in/", "s3://bkt/out/"))


def test_rows_are_named_by_their_index_label() -> None:
    frame = pd.DataFrame({"q": ["a", None, "c", ""]}, index=["alpha", "beta", "gamma", "delta"])
    with pytest.raises(ValidationError) as raised:
        _job().add_dataframe(frame, prompt="q")
    text = str(raised.value)
    assert "row 'beta': the prompt cell is empty" in text
    assert "row 'delta': the prompt cell is empty" in text
    assert "row 1:" not in text and "row 3:" not in text

    numbered = pd.DataFrame({"q": ["a"] * 20 + [None]}, index=range(100, 121))
    with pytest.raises(ValidationError, match="row 120: the prompt cell is empty"):
        _job().add_dataframe(numbered, prompt="q")


def test_positions_when_the_labels_are_not_unique() -> None:
    frame = pd.DataFrame({"q": ["a", "b", None]}, index=[7, 7, 7])
    with pytest.raises(ValidationError, match="row 2: the prompt cell is empty"):
        _job().add_dataframe(frame, prompt="q")


def test_text_with_a_generation_model_suggests_prompt() -> None:
    frame = pd.DataFrame({"question": [f"q{i}" for i in range(120)]})
    job = _job()
    with pytest.raises(ValidationError) as raised:
        job.add_dataframe(frame, text="question")
    message = str(raised.value)
    assert "prompt='question'" in message
    assert message.count("\n") == 0  # said once, not once a row
    assert len(job) == 0
    assert job.add_dataframe(frame, prompt="question", max_tokens=20) == 120
