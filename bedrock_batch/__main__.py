"""``python -m bedrock_batch``: the ``bedrock-batch`` command line."""

import sys

from ._cli._main import main

sys.exit(main())
