"""``python -m bench.plan_worker N``: times validate + plan of N generated seed domains inside
one process (imports excluded) and prints ``{"seconds": …}``."""

from __future__ import annotations

import json
import sys
import time

from mailflow.plan import plan_stack
from tests.stack_fixtures import stack_values


def main() -> None:
    if len(sys.argv) != 2 or not sys.argv[1].isdigit():
        sys.exit(__doc__)
    values = stack_values(int(sys.argv[1]))
    started = time.perf_counter()
    plan = plan_stack(values)
    elapsed = time.perf_counter() - started
    assert len(plan.domains) == len(values["domains"])
    print(json.dumps({"seconds": elapsed}))


if __name__ == "__main__":
    main()
