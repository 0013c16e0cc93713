# Exchange Online connectors of the mail domains planned by mailflow.
# Run in Exchange Online PowerShell after Connect-ExchangeOnline. Each connector is created
# when missing and set to the same values when present, so running this again changes nothing.
# Values without a note are fixed by the connector's purpose.
#
# Warnings:
#   mailflow:domains[0].thirdParty.connectorIps: is not set and thirdParty.spf has no ip4 term to default to, so the Partner inbound connector is left out; list the service's IPv4 addresses (/24 to /32) or set thirdParty.certificateName
#   mailflow:domains[0].thirdParty.outboundSmartHosts: is not set, so outbound mail leaves Exchange Online directly, not through Mimecast (Europe), which SPF authorises (sendsOutbound): set the service's outbound relays to route mail through it, or sendsOutbound: false

# No connectors to create or update.

# tailspintoys.com: accepted domain type, third-party-front: every mailbox is in Exchange Online
Set-AcceptedDomain -Identity 'tailspintoys.com' -DomainType Authoritative
