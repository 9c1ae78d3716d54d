"""Local Bedrock's service (moto's ``models``): the control plane, the job lifecycle table, the
data plane that reads inputs and writes outputs, the runtime, Service Quotas and EventBridge
events, tied together by the backend."""
