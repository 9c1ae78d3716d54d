"""``python -m bedrock_batch._cli``: the ``bedrock-batch`` command line."""

import sys

from ._main import main

sys.exit(main())
