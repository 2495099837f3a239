#!/usr/bin/python3
"""crash.py's scenario, then `fedbroker destroy --all` right after the crash
(no resuming apply): see crash.py. Expected to fail until core destroys
recorded resources that have no deployment row (tests/aws.mk XFAIL_TESTS)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from crash import run  # noqa: E402

run(True)
