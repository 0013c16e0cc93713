"""A Pulumi program of its own, with its own Cloudflare provider and zone, that publishes the
zone's mail records with mailflow's ``MailFlowDomain`` beside its web records.

    pip install 'pulumi-mailflow[cloudflare]'   # into the program's virtualenv
    pulumi config set accountId <Cloudflare account ID>
    pulumi config set --secret cloudflareApiToken <API token>
    pulumi up
"""

import pulumi
import pulumi_cloudflare as cloudflare

from mailflow.components import MailFlowDomain, MailFlowDomainArgs


class Site(pulumi.ComponentResource):
    """The organisation's own resources: its zone and the web site's record."""

    def __init__(self, name: str, domain: str, account_id: str, opts: pulumi.ResourceOptions) -> None:
        super().__init__("contoso:index:Site", name, None, opts)
        inside = pulumi.ResourceOptions(parent=self)
        self.zone = cloudflare.Zone(domain, account={"id": account_id}, name=domain, opts=inside)
        cloudflare.DnsRecord(
            f"www.{domain}/CNAME",
            zone_id=self.zone.id,
            name=f"www.{domain}",
            type="CNAME",
            content="contoso.pages.dev",
            ttl=1,
            proxied=True,
            opts=inside,
        )
        self.register_outputs({"zoneId": self.zone.id})


config = pulumi.Config()
provider = cloudflare.Provider("cloudflare", api_token=config.require_secret("cloudflareApiToken"))
site = Site("contoso", "contoso.com", config.require("accountId"), pulumi.ResourceOptions(provider=provider))

mail = MailFlowDomain(
    "contoso.com",
    MailFlowDomainArgs(
        domain={
            "name": "contoso.com",
            "topology": "third-party-hybrid",
            "thirdParty": {
                "name": "Example filtering service",
                "mx": [
                    {"host": "mx1.filter.example.net", "priority": 10},
                    {"host": "mx2.filter.example.net", "priority": 20},
                ],
                "spf": ["ip4:10.10.10.1"],
            },
            "exchangeOnline": {
                "verification": "MS=ms12345678",
                "mxHost": "contoso-com.mail.protection.outlook.com",
                "autodiscover": {"target": "on-premises", "host": "mail.contoso.com"},
            },
            "onPremises": {"ips": ["131.107.21.231"]},
            "dmarc": {"policy": "quarantine", "rua": ["mailto:dmarc@contoso.com"]},
        },
        target={"kind": "cloudflare"},
        zone_id=site.zone.id,
        production=True,
    ),
    opts=pulumi.ResourceOptions(provider=provider, parent=site),
)

pulumi.export("relayHost", mail.relay_host)
pulumi.export("spf", mail.spf)
