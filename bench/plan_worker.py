"""Times validate + plan of N generated seed domains inside one process (imports excluded)."""

from __future__ import annotations

import json
import sys
import time

from mailflow.plan import plan_stack
from tests.stack_fixtures import stack_values


def main() -> None:
    values = stack_values(int(sys.argv[1]))
    started = time.perf_counter()
    plan = plan_stack(values)
    elapsed = time.perf_counter() - started
    assert len(plan.domains) == len(values["domains"])
    print(json.dumps({"seconds": elapsed}))


if __name__ == "__main__":
    main()
