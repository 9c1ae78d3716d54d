"""``bedrock-batch demo``: the walkthrough's questions and the report printed once the batch
ended."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

__all__ = ["demo_questions", "demo_report"]

_TOPICS = [
    "仏教", "神道", "茶道", "華道", "書道", "武道", "着物", "和食", "温泉", "桜",
    "富士山", "京都", "歌舞伎", "能楽", "相撲", "俳句", "祭り", "正月", "庭園", "城",
]  # fmt: skip
_ASPECTS = [
    "儀式の意味", "歴史", "地域による違い", "現代での役割", "作法",
    "代表的な例", "季節との関係", "海外での評価", "よくある誤解", "学び方",
]  # fmt: skip
_ASKS = ["を教えてください。", "を簡単に説明してください。", "を初心者向けに解説してください。",
         "を三つのポイントでまとめてください。", "を歴史的な背景とともに説明してください。"]  # fmt: skip


def demo_questions(n: int = 1000) -> Iterator[tuple[str, dict[str, str], str]]:
    """(record id, key, question): generated questions about Japan, as in the walkthrough."""
    count = 0
    for ask in _ASKS:
        for aspect in _ASPECTS:
            for topic in _TOPICS:
                if count >= n:
                    return
                count += 1
                yield (
                    f"JP{count:04d}",
                    {"topic": topic, "aspect": aspect},
                    f"日本の{topic}における{aspect}{ask}",
                )


def demo_report(job: Any, show: int) -> str:
    """What the demo prints once the batch ended: the summary, a few answers, what next."""
    from .._families._schemas import input_text

    lines = ["", "Summary:", str(job.summary()), ""]
    for shown, r in enumerate(job.results()):
        if shown >= show:
            break
        answer = (r.text or (r.error and r.error.message) or "")[:160]
        lines += [
            f"[{r.record_id}] key={json.dumps(r.key, ensure_ascii=False)} status={r.status} "
            f"tokens={r.usage.input_tokens}+{r.usage.output_tokens}",
            f"  Q: {input_text(r.model_input).strip()[:160]}",
            f"  A: {answer}  (synthetic)",
        ]
    lines += [
        "",
        "Next, try:",
        "  bedrock-batch demo --records 200 --show 5 --quiet     # again, smaller, no progress",
        "  bedrock-batch local serve                             # Local Bedrock for any SDK or the AWS CLI",
        f"  bedrock-batch iam-policy --model-id us.{job.model_id} --account 123456789012 \\",
        "      --region us-east-1 --input-uri s3://my-bucket/in/ --output-uri s3://my-bucket/out/",
    ]
    return "\n".join(lines)
