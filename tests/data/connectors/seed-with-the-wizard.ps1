# Exchange Online connectors of the mail domains planned by mailflow.
# Run in Exchange Online PowerShell after Connect-ExchangeOnline. Each connector is created
# when missing and set to the same values when present, so running this again changes nothing.
# Values without a note are fixed by the connector's purpose.
#
# Warnings:
#   mailflow:domains[0].thirdParty.outboundSmartHosts: is not set, so outbound mail leaves Exchange Online directly, not through Example filtering service, which SPF authorises (sendsOutbound): set the service's outbound relays to route mail through it, or sendsOutbound: false

# contoso.com: Partner inbound connector for mail relayed by Example filtering service
#   -SenderIPAddresses: the ip4 terms of mailflow:domains[0].thirdParty.spf (thirdParty.connectorIps is unset)
#   -EFSkipLastIP: on by default, skipping the service's own hop (mailflow:domains[0].thirdParty.enhancedFiltering is unset)
#   -EFUsers: everyone (mailflow:domains[0].thirdParty.enhancedFilteringUsers is unset)
if (-not (Get-InboundConnector -Identity 'mailflow from Example filtering service' -ErrorAction SilentlyContinue)) {
    New-InboundConnector -Name 'mailflow from Example filtering service' -ConnectorType Partner -SenderDomains @('*') -RestrictDomainsToIPAddresses $true -SenderIPAddresses @('10.10.10.1') -EFSkipLastIP $true -EFUsers $null
} else {
    Set-InboundConnector -Identity 'mailflow from Example filtering service' -ConnectorType Partner -SenderDomains @('*') -RestrictDomainsToIPAddresses $true -SenderIPAddresses @('10.10.10.1') -EFSkipLastIP $true -EFUsers $null
}

# contoso.com: accepted domain type, mailflow:domains[0].exchangeOnline.directorySync is false: mail for recipients Exchange Online does not know goes on to on-premises
Set-AcceptedDomain -Identity 'contoso.com' -DomainType InternalRelay
