"""The code the engine tests and the benchmarks share: ports free for both UDP and TCP, and the
failure message of a Pulumi run, which shows the errors before the warnings; and the guard that
keeps the tests' traffic on loopback."""

from __future__ import annotations

import json
import socket
import subprocess

import dns.message
import dns.query
import pytest
from bind_server import free_port
from dns_server import DnsServer, Zone
from pulumi_project import EACH_ERROR_SHOWN, ERRORS_SHOWN, OTHERS_SHOWN, STDERR_SHOWN, failure_message

# `pulumi up --yes` of a program that warns, and fails in the update only (not in its preview).
UP_OUTPUT = """\
Previewing update (dev):
    pulumi:pulumi:Stack pexp-dev  warning: a warning from the program: something odd but fine
 +  pulumi:pulumi:Stack pexp-dev create 1 warning
Diagnostics:
  pulumi:pulumi:Stack (pexp-dev):
    warning: a warning from the program: something odd but fine

Outputs:
    x: 1

Resources:
    + 1 to create

Updating (dev):
    pulumi:pulumi:Stack pexp-dev  warning: a warning from the program: something odd but fine
 +  pulumi:pulumi:Stack pexp-dev creating (0s) error: Program failed with an unhandled exception:
 +  pulumi:pulumi:Stack pexp-dev **creating failed (0.08s)** 1 error; 1 warning
Diagnostics:
  pulumi:pulumi:Stack (pexp-dev):
    warning: a warning from the program: something odd but fine
    error: Program failed with an unhandled exception:
    Traceback (most recent call last):
      File "/tmp/pexp/__main__.py", line 4, in <module>
        raise ValueError("the real error: boom")
    ValueError: the real error: boom

  mailflow:index:Record (contoso.com/MX):
    error: second failure

Resources:
    + 1 created
    1 errored

Duration: 1s
"""


def completed(stdout: str, stderr: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.CompletedProcess(["pulumi"], 1, stdout, stderr)


def test_free_port_is_free_for_both_udp_and_tcp() -> None:
    for _ in range(20):
        port = free_port()
        with (
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp,
            socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp,
        ):
            udp.bind(("127.0.0.1", port))
            tcp.bind(("127.0.0.1", port))
            tcp.listen()


def test_the_scripted_dns_server_answers_over_udp_and_tcp_on_one_port() -> None:
    zone = Zone()
    zone.add("contoso.com.", "TXT", '"hello"')
    with DnsServer(zone) as server:
        query = dns.message.make_query("contoso.com.", "TXT")
        for ask in (dns.query.udp, dns.query.tcp):
            response = ask(query, "127.0.0.1", timeout=5, port=server.port)
            assert [rrset.to_text() for rrset in response.answer] == ['contoso.com. 3600 IN TXT "hello"']


def test_a_failure_shows_the_update_errors_before_the_warnings() -> None:
    message = failure_message("pulumi up --yes", completed(UP_OUTPUT, "error: update failed\n"))
    assert message.startswith(
        "pulumi up --yes failed (1)\nerrors:\n  pulumi:pulumi:Stack (pexp-dev):\n    error: Program failed"
    )
    lines = message.splitlines()
    error_at = lines.index("    ValueError: the real error: boom")
    assert lines[error_at + 1 : error_at + 3] == [
        "  mailflow:index:Record (contoso.com/MX):",
        "    error: second failure",
    ]
    assert lines.index("error: update failed") > error_at
    assert lines.index("    warning: a warning from the program: something odd but fine") > lines.index(
        "error: update failed"
    )
    assert "Resources:" not in message
    assert message.count("mailflow:index:Record") == 1  # the resource with no warning is under errors only


def test_a_failure_of_json_output_shows_its_error_diagnostics_first() -> None:
    document = {
        "steps": [],
        "diagnostics": [
            {"message": "warning: something odd\n", "severity": "warning"},
            {"message": "error: Program failed\nValueError: boom\n\n", "severity": "error"},
        ],
    }
    message = failure_message("pulumi preview --json", completed(json.dumps(document, indent=4)))
    assert message.splitlines()[1:5] == [
        "errors:",
        "error: Program failed",
        "ValueError: boom",
        "other diagnostics:",
    ]


def test_a_failure_without_diagnostics_shows_stderr_then_stdout() -> None:
    message = failure_message("pulumi stack init", completed("some output\n", "error: no such stack\n"))
    assert message == "pulumi stack init failed (1)\nstderr:\nerror: no such stack\nstdout:\nsome output"


def test_a_failure_message_is_bounded_and_keeps_the_end_of_each_error() -> None:
    traceback = "\n".join(f'      File "frame{i}.py", line {i}, in <module>' for i in range(2000))
    errors = "".join(
        f"  r{n}:\n    error: failure {n}\n    Traceback (most recent call last):\n{traceback}\n"
        f"    ValueError: the end of failure {n}\n"
        for n in range(4)
    )
    warnings = "".join(f"  w{n}:\n    warning: {'x' * 100}\n" for n in range(200))
    stdout = f"Diagnostics:\n{warnings}{errors}\nResources:\n"
    message = failure_message("pulumi up", completed(stdout, "e" * 100_000))
    assert len(message) < ERRORS_SHOWN + STDERR_SHOWN + OTHERS_SHOWN + 500
    shown = ERRORS_SHOWN // EACH_ERROR_SHOWN
    assert all(f"ValueError: the end of failure {n}\n" in message for n in range(shown))
    assert f"[… {4 - shown} more errors]" in message
    assert message.index("ValueError: the end of failure 0") < message.index("warning:")


def test_the_tests_send_nothing_beyond_loopback() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        with pytest.raises(PermissionError, match=r"nothing beyond loopback, not to 192\.0\.2\.1"):
            udp.sendto(b"x", ("192.0.2.1", 53))
        udp.sendto(b"x", ("127.0.0.1", 9))
    with (
        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp,
        pytest.raises(PermissionError, match=r"not to 131\.107\.21\.231"),
    ):
        tcp.connect(("131.107.21.231", 25))
