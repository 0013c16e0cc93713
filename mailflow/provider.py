"""The component package: ``MailFlowDomain`` for every Pulumi language, through
``pulumi package add <this repository>`` (``PulumiPlugin.yaml``).

Pulumi runs the repository's ``__main__.py`` as a plugin, which calls ``serve``. The schema other
languages see is read from this module's annotations and docstrings (Markdown, hence the single
backticks), so neither this module nor the component's may defer its annotations with ``from
__future__ import annotations``. The inputs are the args of the Python component, which does all
the work: the same gate, the same records, the same warnings."""

import sys
from collections.abc import Iterator
from typing import Any, NotRequired, TypedDict

import pulumi
from pulumi.errors import InputPropertiesError
from pulumi.provider import main
from pulumi.provider.experimental.component import ComponentProvider
from pulumi.provider.experimental.util import camel_case
from pulumi.provider.provider import ConstructResult
from pulumi.provider.server import ComponentInitError

from mailflow import __version__, components
from mailflow.components import ConfigRunError
from mailflow.errors import MAX_REPORTED, ConfigError, Problem
from mailflow.plan import tune_gc_for_registration


class MailFlowDomainInputs(TypedDict):
    """The inputs of `MailFlowDomain`: the keys of a stack's `mailflow:*` config, for one domain."""

    domain: dict[str, Any]
    """One entry of `mailflow:domains`, with its camelCase keys (`name`, `topology`, `thirdParty`,
    `onPremises`, `exchangeOnline`, `dmarc`, `extraRecords`, ...)."""
    target: NotRequired[dict[str, Any]]
    """`mailflow:target`: `{kind: zonefile, directory: ...}` (the default), `{kind: cloudflare}`,
    `{kind: azure, resourceGroupName: ...}` or `{kind: rfc2136, server: ..., keyName: ...}`."""
    resource_tree: NotRequired[str]
    """`parts` (the default: a child component per topology side) or `domain` (the records
    directly under the component)."""
    production: NotRequired[bool]
    """`mailflow:production`: protect the MX and SPF records from deletion."""
    strict: NotRequired[bool]
    """`mailflow:strict`: refuse values Microsoft assigns that had to be derived."""
    tenant_file: NotRequired[str]
    """`mailflow:tenantFile`: the values read from the tenant, relative to the program's directory."""
    zone_id: NotRequired[pulumi.Input[str]]
    """cloudflare: the zone id, such as the `id` of a `cloudflare.Zone`."""
    resource_group_name: NotRequired[pulumi.Input[str]]
    """azure: the resource group holding the zone, instead of the target's `resourceGroupName`."""
    tsig_secret: NotRequired[pulumi.Input[str]]
    """rfc2136: the TSIG secret (base64); it is kept as a secret whatever it is given as."""


class MailFlowDomain(components.MailFlowDomain):
    """The DNS records of one Microsoft 365 mail domain (MX, SPF, DMARC, DKIM, autodiscover, the
    `MS=` record, ...), planned from its topology and published to a zone file, Cloudflare, Azure
    DNS or an RFC 2136 server. Bad inputs fail with every problem listed, before any record is
    registered. A provider given to the component reaches every record."""

    # The outputs of `components.MailFlowDomain`, declared again for their schema descriptions,
    # which Pulumi reads from this class's source alone.
    topology: str
    """The domain's mail-flow topology."""
    spf: str
    """The text of the domain's SPF record."""
    spf_lookups: int
    """The DNS lookups the SPF record costs (at most 10)."""
    exo_mx_host: str
    """The Exchange Online MX host of the domain."""
    relay_host: str | None
    """Where a third-party service in front relays inbound mail (absent without one)."""
    records: list[dict[str, Any]]
    """Every record as `{name, type, ttl, value}`, as `mailflow plan --format json` prints it."""

    def __init__(
        self, name: str, args: MailFlowDomainInputs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        # The engine hands the inputs over as a dict whatever the annotation says.
        super().__init__(name, components.MailFlowDomainArgs(**_known(args)), opts)


OUTPUT_ARGS = ("zone_id", "resource_group_name", "tsig_secret")
"""The only inputs that may be Outputs (secrets, or other resources' outputs): the plan needs the
value of every other one when the program starts."""


def _outputs(value: Any, path: str) -> Iterator[str]:
    """The paths of the Outputs in ``value``, however deep."""
    if isinstance(value, pulumi.Output):
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _outputs(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _outputs(item, f"{path}[{index}]")


def _known(args: MailFlowDomainInputs) -> dict[str, Any]:
    """The inputs, refusing an Output where the plan needs the value itself."""
    plain = {key: value for key, value in args.items() if key not in OUTPUT_ARGS}
    paths = [path for key, value in plain.items() for path in _outputs(value, key)]
    if paths:
        plain_value = "must be a plain value, known when the program starts (not a secret nor an output)"
        raise ConfigRunError([Problem(path, plain_value) for path in paths])
    return dict(args)


def schema_path(path: str) -> str:
    """An args path as other languages name it: ``tsig_secret`` is ``tsigSecret``; the keys inside
    ``domain`` and ``target`` are camelCase already."""
    end = min((i for i in (path.find("."), path.find("[")) if i >= 0), default=len(path))
    return camel_case(path[:end]) + path[end:]


class MailFlowProvider(ComponentProvider):
    """The package's provider. Config problems leave it as input property errors, which the engine
    shows per property; any other exception from a component reaches the user as a traceback."""

    def construct(
        self,
        name: str,
        resource_type: str,
        inputs: pulumi.Inputs,
        options: pulumi.ResourceOptions | None = None,
    ) -> ConstructResult:
        try:
            return super().construct(name, resource_type, inputs, options)
        except ComponentInitError as error:
            if not isinstance(error.inner, ConfigError):
                raise
            problems = error.inner.problems[:MAX_REPORTED]
            raise InputPropertiesError(
                error.inner.report().partition("\n")[0],
                [{"property_path": schema_path(p.path), "reason": p.message} for p in problems],
            ) from None


def serve() -> None:
    """Run as the provider plugin of the package ``mailflow``: Pulumi passes the engine's address
    on the command line and reads the port served from the first line of output."""
    tune_gc_for_registration()
    main(MailFlowProvider([MailFlowDomain], "mailflow", None, __version__), sys.argv[1:])
