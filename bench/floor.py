"""The floor of `mailflow plan --format zone`: a process that starts Python, loads the output
computed beforehand and writes it, and does nothing else.

``python -m bench.floor prepare STACKFILE DATA`` (untimed) writes to DATA the bytes `mailflow plan
STACKFILE --format zone` prints; ``python -m bench.floor DATA`` (the floor) prints them again.
Only ``sys`` is imported on the floor's own path."""

import sys


def prepare(stack_file: str, data: str) -> None:
    """Store what `mailflow plan STACKFILE --format zone` prints, byte for byte."""
    import subprocess

    command = [sys.executable, "-m", "mailflow", "plan", stack_file, "--format", "zone"]
    output = subprocess.run(command, check=True, stdout=subprocess.PIPE).stdout
    with open(data, "wb") as file:
        file.write(output)


def main() -> None:
    arguments = sys.argv[1:]
    if arguments[:1] == ["prepare"] and len(arguments) == 3:
        prepare(arguments[1], arguments[2])
    elif len(arguments) == 1:
        with open(arguments[0], "rb") as file:
            sys.stdout.buffer.write(file.read())
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
