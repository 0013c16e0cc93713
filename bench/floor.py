"""The floor of `mailflow plan --format zone`: a process that starts Python, loads the records
computed beforehand as a list, and writes the identical bytes, and does nothing else.

``python -m bench.floor prepare STACKFILE DATA`` (untimed) stores as DATA the records `mailflow plan
STACKFILE --format zone` prints, a list of ``[comment, origin, [[owner, ttl, class, type, value],
…]]`` per domain, and checks that the floor writes them back byte for byte; ``python -m
bench.floor DATA`` (the floor) writes them. Only ``sys`` and ``json`` are imported on the floor's
own path."""

from __future__ import annotations

import json
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # not at run time: importing typing is a cost the floor need not pay
    from typing import Any


def zone_text(domains: list[Any]) -> str:
    """The zone text of the records: what the floor computes."""
    return "\n".join(
        f"{comment}\n{origin}\n"
        + "".join(f"{owner} {ttl} {rclass} {rtype} {value}\n" for owner, ttl, rclass, rtype, value in records)
        for comment, origin, records in domains
    )


def prepare(stack_file: str, data: str) -> None:
    """Store the records of `mailflow plan STACKFILE --format zone` as the floor's list."""
    import subprocess

    command = [sys.executable, "-m", "mailflow", "plan", stack_file, "--format", "zone"]
    text = subprocess.run(command, check=True, stdout=subprocess.PIPE).stdout.decode("utf-8")
    domains = []
    for block in text.removesuffix("\n").split("\n\n"):
        comment, origin, *lines = block.split("\n")
        domains.append([comment, origin, [line.split(" ", 4) for line in lines]])
    if zone_text(domains) != text:
        sys.exit(f"bench.floor: the records of {stack_file} do not write back as mailflow wrote them")
    with open(data, "w", encoding="utf-8") as file:
        json.dump(domains, file)


def main() -> None:
    arguments = sys.argv[1:]
    if arguments[:1] == ["prepare"] and len(arguments) == 3:
        prepare(arguments[1], arguments[2])
    elif len(arguments) == 1 and arguments[0] != "prepare":
        with open(arguments[0], encoding="utf-8") as file:
            sys.stdout.write(zone_text(json.load(file)))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
