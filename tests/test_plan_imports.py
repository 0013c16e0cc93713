"""What `mailflow plan` loads: neither Pulumi nor the modules of the other commands, and for values
written as they are, not dnspython's rdata classes either (start-up is most of a small plan)."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import ROOT, SEED_STACK

NOT_FOR_PLAN = (
    "pulumi",
    "pulumi_cloudflare",
    "pulumi_azure_native",
    "mailflow.components",
    "mailflow.program",
    "mailflow.targets",
    "mailflow.check",
    "mailflow.live_connectors",
    "mailflow.connector_diff",
    "mailflow.pull",
    "mailflow.dnsupdate",
    "mailflow.fleet",
    "mailflow.graph",
    "mailflow.exo",
    "asyncio",
    "dns.rdtypes",
    "dns.renderer",
)


def test_plan_loads_nothing_it_does_not_need() -> None:
    script = (
        "import contextlib, io, json, sys\n"
        "from mailflow.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert main(['plan', {str(SEED_STACK)!r}, '--format', 'zone']) == 0\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT
    )
    loaded = json.loads(result.stdout)
    assert [m for m in loaded if any(m == name or m.startswith(f"{name}.") for name in NOT_FOR_PLAN)] == []
