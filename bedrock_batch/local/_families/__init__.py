"""Local Bedrock's model families: its own request rules (written from the facts, never imported
from the client), its synthetic answers and its usage accounting, one family at a time."""
