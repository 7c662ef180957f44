"""Started in a seed script's subprocess when its PYTHONPATH has this folder: records every AWS API
call to the JSON-lines file named by ``SEED_AWS_CALL_LOG`` (see tests/seed/call_recorder.py)."""

import os
import sys

if os.environ.get("SEED_AWS_CALL_LOG"):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import call_recorder

    call_recorder.install(os.environ["SEED_AWS_CALL_LOG"])
    del sys.path[0]
