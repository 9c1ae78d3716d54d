"""``bedrock-batch local serve``: Local Bedrock on one loopback endpoint, with a banner of the
exact ``export`` lines to paste into another shell."""

from __future__ import annotations

import argparse
import contextlib

import attrs

from ._cli import EXIT_OK

__all__ = ["banner", "serve"]


def banner(endpoint_url: str, region: str = "us-east-1") -> str:
    """What the server prints: where it listens and the environment to talk to it."""
    return (
        f"Local Bedrock on {endpoint_url} (S3, Bedrock, bedrock-runtime, Service Quotas)\n"
        "In another shell, paste:\n"
        f"  export AWS_ENDPOINT_URL={endpoint_url}\n"
        "  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing\n"
        f"  export AWS_DEFAULT_REGION={region}\n"
        "Ctrl-C stops the server (everything lives in memory)."
    )


def serve(args: argparse.Namespace) -> int:
    """Serve until interrupted."""
    from .local import Faults, LocalBedrock, Quotas, Timings

    base = Quotas.legacy_2024() if args.legacy_quotas else Quotas()
    overrides = {
        "min_records_per_job": args.min_records,
        "max_records_per_job": args.max_records_per_job,
        "max_records_per_file": args.max_records_per_file,
        "max_concurrent_jobs": args.max_concurrent_jobs,
    }
    quotas = attrs.evolve(base, **{k: v for k, v in overrides.items() if v is not None})
    faults = Faults(
        throttle_rate=args.throttle_rate,
        server_error_rate=args.server_error_rate,
        record_error_rate=args.record_error_rate,
    )
    local = LocalBedrock(
        seed=args.seed, time_scale=args.time_scale,
        timings=Timings(records_per_second=args.records_per_second),
        default_quotas=quotas, faults=faults,
    )  # fmt: skip
    server = local.serve(host=args.host, port=args.port)
    print(banner(server.endpoint_url, args.region or "us-east-1"), flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return EXIT_OK
