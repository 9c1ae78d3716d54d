"""Run every benchmark: `python benchmarks/run.py` (add --quick for smaller sizes)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="10x smaller sizes")
    args = ap.parse_args()
    scale = 10 if args.quick else 1
    runs = [
        ["bench_emulator.py", "--sizes", f"{10_000 // scale},{50_000 // scale}"],
        ["bench_client.py", "--records", str(200_000 // scale)],
    ]
    for script, *rest in runs:
        print(f"\n== {script} {' '.join(rest)}", flush=True)
        subprocess.run([sys.executable, str(HERE / script), *rest], check=True, cwd=HERE)


if __name__ == "__main__":
    main()
