"""One store of N records with default, sequential or random explicit ids, built in this
process: prints its peak RSS (``VmHWM``) after adding (each id checked for a duplicate first,
as ``add_*`` does), planning the jobs and streaming ``index.jsonl``. Run by
test_memory_ids.py, a fresh process per size."""

from __future__ import annotations

import json
import sys

from bedrock_batch._batch._sharding import plan_parts
from bedrock_batch._records._store import RecordStore


def vmhwm_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def main() -> None:
    n, ids = int(sys.argv[1]), sys.argv[2]
    store = RecordStore()
    floor = vmhwm_mib()
    body = b'","modelInput":{"messages":[]}}\n'
    for i in range(n):
        if ids == "default":
            rid = f"R{i:010d}"
        elif ids == "sequential":
            rid = f"R{i + 1:08d}"
        else:  # distinct, in no order, no runs
            rid = f"{(i * 0x9E3779B97F4A7C15) % 2**64:016x}"
        if rid in store:
            raise SystemExit(f"duplicate {rid}")
        store.append_line(rid, b'{"recordId":"' + rid.encode() + body, default=ids == "default")
    parts = plan_parts(store.sizes, max_records_per_job=n, max_job_bytes=1 << 40,
                       max_records_per_file=n, max_file_bytes=1 << 40)  # fmt: skip
    lines = sum(1 for _ in store.index.index_lines())
    probe = f"R{n // 2:010d}" if ids == "default" else store.index.id_at(n // 2)
    assert store.index.ordinal_of(probe) == n // 2
    print(json.dumps({"records": n, "ids": ids, "floor_mib": floor, "rss_mib": vmhwm_mib(),
                      "parts": len(parts), "index_lines": lines}))  # fmt: skip
    store.close()


if __name__ == "__main__":
    main()
