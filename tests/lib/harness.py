"""harness.py - the Python tests' shared checker: one `ok` per check, a
summary line and the exit status automake reads (0 all passed, 1 any
failed). Import it with tests/lib on sys.path:

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
    from harness import Checker
    ck = Checker("config")
    ok = ck.ok
    ...
    ck.done()
"""
import json
import sys


class Checker:
    def __init__(self, name):
        self.name = name
        self.failed = 0
        self.passed = 0

    def ok(self, cond, desc, detail=None):
        """Counts and prints one check; detail (text, or JSON-able) is
        printed under a failure. Returns bool(cond)."""
        if cond:
            self.passed += 1
            print(f"ok: {desc}")
        else:
            self.failed += 1
            print(f"FAIL: {desc}")
            if detail is not None:
                print("   ", detail if isinstance(detail, str) else json.dumps(detail, indent=1, default=str)[:4000])
        return bool(cond)

    def done(self):
        """Prints the summary and exits: 1 when a check failed, else 0."""
        print(f"{self.name}: {self.passed} passed, {self.failed} failed")
        sys.exit(1 if self.failed else 0)
