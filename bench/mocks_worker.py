"""One process: import, plan and register N domains under Pulumi's mocks (no engine).

``python -m bench.mocks_worker mailflow|handwritten zonefile|cloudflare|azure N [TREE]``
(TREE: mailflow's ``resourceTree``, default ``flat``)
prints ``{"seconds": …}``: the time from before the first Pulumi import to the last
registration, which every `pulumi preview` and `up` of the program pays."""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from functools import partial  # noqa: E402
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
    arguments = sys.argv[1:]
    if not (
        3 <= len(arguments) <= 4
        and arguments[0] in ("mailflow", "handwritten")
        and arguments[1] in TARGETS
        and arguments[2].isdigit()
    ):
        sys.exit(__doc__)
    program, target, count = arguments[0], arguments[1], int(arguments[2])
    tree = arguments[3] if len(arguments) > 3 else "flat"
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
        from mailflow.program import run

        # As __main__.py calls it: one call below the program, as the hand-written one is.
        body = partial(run, owned_process=True)
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
