"""One process: import, plan and register N domains under Pulumi's mocks (no engine).

``python -m bench.mocks_worker mailflow|handwritten zonefile|cloudflare|azure N [TREE]``
(TREE: mailflow's ``resourceTree``, default ``flat``)
prints ``{"seconds": …}``: the time from before the first Pulumi import to the last
registration, as issue users pay it in every `pulumi preview`."""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pulumi  # noqa: E402

from tests.stack_fixtures import stack_values  # noqa: E402

TARGETS = {
    "zonefile": {"kind": "zonefile"},
    "cloudflare": {"kind": "cloudflare", "zoneId": "zone-1"},
    "azure": {"kind": "azure", "resourceGroupName": "rg-dns"},
}


class EchoMocks(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        return f"{args.name}-id", args.inputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        return {}


def main() -> None:
    program, target, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    tree = sys.argv[4] if len(sys.argv) > 4 else "flat"
    values = stack_values(count)
    pulumi.runtime.set_mocks(EchoMocks(), project="mailflow", stack="bench", preview=False)
    with tempfile.TemporaryDirectory(prefix="mailflow-bench-") as directory:
        register(program, target, values, Path(directory), tree)
    print(json.dumps({"seconds": time.perf_counter() - STARTED}))


def register(program: str, target: str, values: dict[str, Any], workdir: Path, tree: str) -> None:
    """Register the domains of ``values`` with ``program``, zone files (if any) in ``workdir``."""
    if program == "mailflow":
        target_config = dict(TARGETS[target])
        if target == "zonefile":
            target_config["directory"] = str(workdir)
        config = {
            "mailflow:domains": json.dumps(values["domains"]),
            "mailflow:target": json.dumps(target_config),
            "mailflow:resourceTree": tree,
        }
        pulumi.runtime.set_all_config(config, [])
        from mailflow.program import main as body
    else:
        from bench import handwritten

        def body() -> None:
            if target == "cloudflare":
                handwritten.cloudflare_program(values["domains"], "zone-1")
            elif target == "azure":
                handwritten.azure_program(values["domains"], "rg-dns")
            else:
                handwritten.zonefile_program(values["domains"], workdir)

    @pulumi.runtime.test
    def registered() -> None:
        body()

    registered()


if __name__ == "__main__":
    main()
