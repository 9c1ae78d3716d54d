"""Local Bedrock: a faithful offline emulator of Amazon Bedrock batch inference.

It answers the Bedrock control plane (model invocation jobs and their tags), bedrock-runtime
(InvokeModel, Converse) and Service Quotas through real boto3 clients, reads inputs from and
writes outputs to S3 provided by moto, emits EventBridge events, and runs jobs through
Bedrock's lifecycle on an emulated clock. See the "Testing with Local Bedrock" page of the docs.

It shares no logic with the client (``bedrock_batch``): only data (the model list and the
quota defaults). Its request rules, model resolution and token accounting are its own.
"""

from ._clock import Clock, ManualClock, ScaledClock
from ._config import (
    AfterFault,
    FaultEvent,
    Faults,
    JobFault,
    OperationFaults,
    PromptCaching,
    Quotas,
    Timings,
)
from ._emulator import LocalBedrock
from ._families._context import RecordContext, RecordError, Responder
from ._families._responders import constant, synthetic
from ._ownership import NetworkDenied, deny_network

__all__ = [
    "AfterFault",
    "Clock",
    "FaultEvent",
    "Faults",
    "JobFault",
    "LocalBedrock",
    "LocalBedrockServer",
    "ManualClock",
    "NetworkDenied",
    "OperationFaults",
    "PromptCaching",
    "Quotas",
    "RecordContext",
    "RecordError",
    "Responder",
    "ScaledClock",
    "Timings",
    "constant",
    "deny_network",
    "synthetic",
]


def __getattr__(name: str) -> object:
    if name == "LocalBedrockServer":  # imports werkzeug and moto's server app: only on demand
        from ._wire._server import LocalBedrockServer

        return LocalBedrockServer
    raise AttributeError(name)
