"""Stack files of the generated seed-topology stacks (``tests/stack_fixtures.py``), for the
benchmarks that read one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.stack_fixtures import stack_values


def write_stack_file(path: Path, count: int, extra_config: dict[str, Any] | None = None) -> Path:
    config: dict[str, Any] = {"mailflow:domains": stack_values(count)["domains"]}
    config.update(extra_config or {})
    path.write_text(yaml.safe_dump({"config": config}, sort_keys=False))
    return path
