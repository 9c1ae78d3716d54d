"""Local Bedrock: records per second and peak memory for a Claude job, at several sizes.

S3 is moto's server in another process, so the peak memory measured here is the emulator's
own. "Memory does not grow with file size": compare the peaks across sizes.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from _common import client, moto_server, peak_mib, report

from bedrock_batch.local import LocalBedrock, Quotas

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"


def body(i: int) -> dict[str, Any]:
    return {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 300,
        "messages": [
            {
                "role": "user",
                "content": [{"type": "text", "text": f"日本の文化について質問 {i}: お茶の作法は?"}],
            }
        ],
    }


def run_job(s3_url: str, n: int) -> tuple[float, float]:
    s3 = client(s3_url, "s3")
    bucket = f"bench-{n}-{time.time_ns() % 10**9}"
    s3.create_bucket(Bucket=bucket)
    lines = "".join(
        json.dumps({"recordId": f"r{i}", "modelInput": body(i)}, ensure_ascii=False) + "\n"
        for i in range(n)
    )
    s3.put_object(Bucket=bucket, Key="in/data.jsonl", Body=lines.encode())
    del lines
    elapsed = [0.0]

    def go() -> None:
        with LocalBedrock(
            clock="manual",
            s3_client=s3,
            mock_s3=False,
            default_quotas=Quotas(max_records_per_job=10**7, max_records_per_file=10**7),
        ) as local:
            bedrock = local.client("bedrock")
            arn = bedrock.create_model_invocation_job(
                jobName="bench",
                roleArn="arn:aws:iam::123456789012:role/R",
                modelId=HAIKU,
                inputDataConfig={"s3InputDataConfig": {"s3Uri": f"s3://{bucket}/in/"}},
                outputDataConfig={"s3OutputDataConfig": {"s3Uri": f"s3://{bucket}/out/"}},
            )["jobArn"]
            t0 = time.perf_counter()
            local.advance(hours=100)  # validation, processing and output upload happen here
            elapsed[0] = time.perf_counter() - t0
            d = bedrock.get_model_invocation_job(jobIdentifier=arn)
            assert d["status"] == "Completed", d
            assert d["successRecordCount"] == n, d

    peak = peak_mib(go)
    go()  # again, untraced, for the timing
    return elapsed[0], peak


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,50000")
    args = ap.parse_args()
    rows = []
    with moto_server() as url:
        for n in (int(x) for x in args.sizes.split(",")):
            secs, peak = run_job(url, n)
            rows.append(
                {
                    "records": n,
                    "seconds": round(secs, 2),
                    "records_per_s": round(n / secs),
                    "peak_MiB": round(peak, 1),
                }
            )
    report("emulator", rows)
    if len(rows) > 1:
        growth = rows[-1]["peak_MiB"] / max(rows[0]["peak_MiB"], 0.1)
        size_ratio = rows[-1]["records"] / rows[0]["records"]
        print(f"peak memory x{growth:.2f} for x{size_ratio:.0f} the records")


if __name__ == "__main__":
    main()
