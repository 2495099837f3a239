#!/usr/bin/python3
"""crash.py's scenario, then `fedbroker destroy --all` right after the crash
(no resuming apply): core's "creating" deployment row, written before the
first create, lets destroy find the ARN the driver recorded. See crash.py."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from crash import run  # noqa: E402

run(True)
