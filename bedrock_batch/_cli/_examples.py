"""The examples every command's ``--help`` shows, and the demo's model and role (standard
library only, like :mod:`._errors`)."""

from __future__ import annotations

__all__ = ["DEMO_MODEL", "DEMO_ROLE", "EXAMPLES"]

DEMO_MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
DEMO_ROLE = "arn:aws:iam::123456789012:role/BedrockBatchDemo"
ARN = "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abc123def456"
JOB = "--model-id MODEL --role-arn ROLE --input-uri s3://my-bucket/in/ --output-uri s3://my-bucket/out/"  # fmt: skip
EXAMPLES: dict[str, str] = {
    "demo": "bedrock-batch demo                       # 1,000 questions, offline, synthetic answers\n"
    "bedrock-batch demo --records 200 --show 5",
    "run": f"bedrock-batch run questions.jsonl --local --model-id {DEMO_MODEL} \\\n"
    f"    --role-arn {DEMO_ROLE} --input-uri s3://my-bucket/in/ --output-uri s3://my-bucket/out/\n"
    f"bedrock-batch run questions.jsonl {JOB} --output results.parquet\n"
    f"bedrock-batch run questions.csv --prompt-column question --key-column id \\\n"
    f"    --system 'Answer briefly.' --max-tokens 200 {JOB}\n"
    f"bedrock-batch run prompts.txt {JOB}        # one prompt a line",
    "plan": f"bedrock-batch plan questions.jsonl {JOB}\n"
    f"bedrock-batch plan questions.jsonl {JOB} --json",
    "submit": f"bedrock-batch submit questions.jsonl {JOB} --tags team=search project=faq\n"
    "# prints the batch's handle (its state URI) and its job ARNs",
    "status": f"bedrock-batch status {ARN}\n"
    "bedrock-batch status s3://my-bucket/in/BATCH/bedrock-batch.json --json",
    "wait": "bedrock-batch wait HANDLE && bedrock-batch results HANDLE --output results.jsonl\n"
    "bedrock-batch wait HANDLE --timeout 3600 --poll-interval 30",
    "results": "bedrock-batch results HANDLE --output results.csv\n"
    "bedrock-batch results HANDLE --output results.parquet --force\n"
    "bedrock-batch results HANDLE --output - | head\n"
    "bedrock-batch results HANDLE --partial --output so-far.jsonl   # before the batch ends",
    "summary": "bedrock-batch summary HANDLE\nbedrock-batch summary HANDLE --partial --json",
    "stop": "bedrock-batch stop HANDLE\nbedrock-batch retry HANDLE --wait   # later: run the rest",
    "list": "bedrock-batch list --status-equals InProgress\n"
    "bedrock-batch list --name-contains faq --max-results 10 --json",
    "retry": "bedrock-batch retry HANDLE --wait\nbedrock-batch retry HANDLE --include-non-retryable",
    "attach": "bedrock-batch attach HANDLE\nbedrock-batch attach HANDLE --json",
    "doctor": "bedrock-batch doctor                # the defaults saved by setup, or BEDROCK_BATCH_*\n"
    f"bedrock-batch doctor --model-id us.{DEMO_MODEL}\n"
    f"bedrock-batch doctor {JOB} --json",
    "iam-policy": f"bedrock-batch iam-policy --model-id us.{DEMO_MODEL} --account 123456789012 \\\n"
    "    --region us-east-1 --input-uri s3://my-bucket/in/ --output-uri s3://my-bucket/out/\n"
    "bedrock-batch iam-policy ... --only trust --json\n"
    "bedrock-batch iam-policy --events --queue-arn QUEUE_ARN --rule-arn RULE_ARN",
    "setup": "bedrock-batch setup --dry-run          # what it would create; changes nothing\n"
    "bedrock-batch setup && bedrock-batch run prompts.csv --model-id MODEL --prompt-column text\n"
    f"bedrock-batch setup --update --model-id us.{DEMO_MODEL} --expire-inputs-days 30",
}
