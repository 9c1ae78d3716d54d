"""Prompts from files: ``run``/``plan``/``submit`` take CSV, Parquet, JSONL rows and text files
(the requests built by the library's ``add_prompt``), and Bedrock-format JSONL as before. Run
in-process through ``main(argv)`` against a Local Bedrock server; one path through the console
script."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bedrock_batch.local import Quotas, Timings

from ..conftest import HAIKU, ROLE, claude_body
from ..support import cli_command, cli_env
from .conftest import cli

BUCKET = "prompt-files"
pytestmark = pytest.mark.emulator(
    bucket=BUCKET,
    time_scale=5000,
    timings=Timings(records_per_second=200),
    quotas={HAIKU: Quotas(min_records_per_job=10, max_records_per_job=1000)},
)


def job(path: Path, prefix: str, *extra: str) -> list[str]:
    return [
        str(path), "--model-id", HAIKU, "--role-arn", ROLE,
        "--input-uri", f"s3://{BUCKET}/{prefix}/in/", "--output-uri", f"s3://{BUCKET}/{prefix}/out/",
        *extra,
    ]  # fmt: skip


def run_file(capsys: Any, path: Path, prefix: str, *extra: str) -> list[dict[str, Any]]:
    out = path.with_name(f"{prefix}-results.jsonl")
    code, _, err = cli(capsys, "run", *job(path, prefix, *extra), "--output", str(out),
                       "--quiet", "--poll-interval", "0.05")  # fmt: skip
    assert code == 0, err
    return [json.loads(line) for line in out.read_text().splitlines()]


PROMPTS = [f"What is {n} squared?" for n in range(12)]


def test_csv_with_prompt_and_key_columns(env: Any, capsys: Any, tmp_path: Path) -> None:
    import pandas as pd

    path = tmp_path / "questions.csv"
    pd.DataFrame({"topic": [f"t{n}" for n in range(12)], "question": PROMPTS}).to_csv(path, index=False)  # fmt: skip
    rows = run_file(capsys, path, "csv", "--prompt-column", "question", "--key-column", "topic",
                    "--system", "Answer briefly.", "--max-tokens", "77")  # fmt: skip
    assert [r["key"] for r in rows] == [f"t{n}" for n in range(12)]
    assert all(r["status"] == "succeeded" and r["text"] for r in rows), rows[0]
    code, out, err = cli(capsys, "plan", *job(path, "csv2", "--prompt-column", "question",
                                              "--max-tokens", "77", "--json"))  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["records"] == 12 and json.loads(out)["maxOutputTokens"] == 77 * 12


def test_parquet_rows(env: Any, capsys: Any, tmp_path: Path) -> None:
    import pandas as pd

    path = tmp_path / "questions.parquet"
    pd.DataFrame({"prompt": PROMPTS, "n": list(range(12))}).to_parquet(path)
    rows = run_file(capsys, path, "pq", "--key-column", "n")
    assert [r["key"] for r in rows] == list(range(12))
    assert all(r["status"] == "succeeded" for r in rows)


def test_text_file_one_prompt_a_line(env: Any, capsys: Any, tmp_path: Path) -> None:
    path = tmp_path / "questions.txt"
    path.write_text("\n".join(PROMPTS[:5]) + "\n\n" + "\n".join(PROMPTS[5:]) + "\n")
    rows = run_file(capsys, path, "txt")
    assert len(rows) == 12 and all(r["status"] == "succeeded" for r in rows)
    assert [r["key"] for r in rows][:6] == [1, 2, 3, 4, 5, 7]  # the line, blank lines skipped


def test_jsonl_rows_with_an_output_schema(env: Any, capsys: Any, tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps({"id": n, "prompt": p}) + "\n" for n, p in enumerate(PROMPTS)))  # fmt: skip
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"type": "object", "properties": {"answer": {"type": "integer"}},
                                  "required": ["answer"], "additionalProperties": False}))  # fmt: skip
    rows = run_file(capsys, path, "rows", "--key-column", "id", "--output-schema", str(schema))
    assert [r["key"] for r in rows] == list(range(12))
    assert all(r["status"] == "succeeded" and isinstance(r["parsed"], dict) for r in rows), rows[0]
    assert all(isinstance(r["parsed"]["answer"], int) for r in rows)


def test_bedrock_format_jsonl_still_works(env: Any, capsys: Any, tmp_path: Path) -> None:
    path = tmp_path / "bedrock.jsonl"
    lines = [{"recordId": f"R{n}", "modelInput": claude_body(p), "topic": f"t{n}"} for n, p in enumerate(PROMPTS)]  # fmt: skip
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    rows = run_file(capsys, path, "bedrock", "--key-column", "topic")
    assert [(r["recordId"], r["key"]) for r in rows] == [(f"R{n}", f"t{n}") for n in range(12)]
    code, _, err = cli(capsys, "plan", *job(path, "b2", "--system", "be brief"))
    assert code == 2 and "--system only apply to prompts" in err, err


def test_rows_without_the_prompt_column_name_the_format_and_the_flag(
    env: Any, capsys: Any, tmp_path: Path
) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps({"id": n, "text": f"q{n}"}) + "\n" for n in range(25)))
    code, _, err = cli(capsys, "plan", *job(path, "bad"))
    lines = err.strip().splitlines()
    assert code == 3, err
    assert "expected JSONL rows" in lines[0] and "--prompt-column" in lines[0], lines[0]
    assert "its columns: id, text" in lines[0] and "25 invalid row(s)" in lines[0]
    assert len(lines) == 1 + 20 + 1 and lines[-1].strip() == "... and 5 more", lines[-3:]
    assert all("line" in line and "'prompt'" in line for line in lines[1:21])
    code, out, err = cli(capsys, "plan", *job(path, "good", "--prompt-column", "text", "--json"))
    assert code == 0 and json.loads(out)["records"] == 25, err


def test_bedrock_format_errors_one_a_line(env: Any, capsys: Any, tmp_path: Path) -> None:
    path = tmp_path / "bedrock.jsonl"
    good = json.dumps({"recordId": "ok", "modelInput": claude_body("hi")})
    path.write_text(good + "\n" + "".join(json.dumps({"recordId": f"x{n}", "prompt": "hi"}) + "\n" for n in range(30)))  # fmt: skip
    code, _, err = cli(capsys, "plan", *job(path, "bad2"))
    lines = err.strip().splitlines()
    assert code == 3, err
    assert "Bedrock-format JSONL" in lines[0] and "--prompt-column" in lines[0], lines[0]
    assert len(lines) == 22 and lines[-1].strip() == "... and 10 more", lines[-3:]
    assert all(len(line) < 200 for line in lines[1:]), lines[1]


def test_csv_empty_cell_and_skip_invalid(env: Any, capsys: Any, tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text("prompt,k\nfirst,1\n,2\nthird,3\n")
    code, _, err = cli(capsys, "plan", *job(path, "cells"))
    assert code == 3 and "expected CSV rows" in err and "line 3" in err, err
    code, _, err = cli(capsys, "plan", *job(path, "cells", "--skip-invalid", "--json"))
    assert code == 0 and "1 invalid line(s) would be skipped" in err, err


def test_help_imports_no_boto3_and_console_script_reads_csv(env: dict[str, str], tmp_path: Path) -> None:  # fmt: skip
    import sys

    probe = "import sys; from bedrock_batch._cli import main\ntry: main(['run', '--help'])\nexcept SystemExit: pass\nprint('boto3' in sys.modules, 'pandas' in sys.modules)"  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          env=cli_env(env), timeout=120, check=False)  # fmt: skip
    assert proc.stdout.strip().splitlines()[-1] == "False False", proc.stdout + proc.stderr
    path = tmp_path / "q.csv"
    path.write_text("prompt\n" + "\n".join(PROMPTS) + "\n")
    proc = subprocess.run([*cli_command(), "plan", *job(path, "script"), "--json"],
                          capture_output=True, text=True, env=cli_env(env), timeout=300, check=False)  # fmt: skip
    assert proc.returncode == 0 and json.loads(proc.stdout)["records"] == 12, proc.stderr


def test_key_column_checked(env: Any, capsys: Any, tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text("prompt,k\nfirst,1\nsecond,2\n")
    code, _, err = cli(capsys, "plan", *job(path, "keys", "--key-column", "topic"))
    assert code == 3 and "no column 'topic' (--key-column)" in err, err
    text = tmp_path / "q.txt"
    text.write_text("first\nsecond\n")
    code, _, err = cli(capsys, "plan", *job(text, "keys", "--key-column", "topic"))
    assert code == 2 and "its key is the line number" in err, err
