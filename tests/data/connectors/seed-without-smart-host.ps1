# Exchange Online connectors of the mail domains planned by mailflow.
# Run in Exchange Online PowerShell after Connect-ExchangeOnline. Each connector is created
# when missing and set to the same values when present, so running this again changes nothing.
# Values without a note are fixed by the connector's purpose.
#
# Warnings:
#   mailflow:domains[0].thirdParty.outboundSmartHosts: is not set, so outbound mail leaves Exchange Online directly, not through Example filtering service, which SPF authorises (sendsOutbound): set the service's outbound relays to route mail through it, or sendsOutbound: false
#   mailflow:domains[0].onPremises.smartHost: is not set, so the outbound connector to on-premises is left out: Exchange Online needs the host name of the on-premises servers that take mail for their mailboxes, e.g. mail.contoso.com

# contoso.com: Partner inbound connector for mail relayed by Example filtering service
#   -SenderIPAddresses: the ip4 terms of mailflow:domains[0].thirdParty.spf (thirdParty.connectorIps is unset)
#   -EFSkipLastIP: on by default, skipping the service's own hop (mailflow:domains[0].thirdParty.enhancedFiltering is unset)
#   -EFUsers: everyone (mailflow:domains[0].thirdParty.enhancedFilteringUsers is unset)
if (-not (Get-InboundConnector -Identity 'mailflow from Example filtering service' -ErrorAction SilentlyContinue)) {
    New-InboundConnector -Name 'mailflow from Example filtering service' -ConnectorType Partner -SenderDomains @('*') -RestrictDomainsToIPAddresses $true -SenderIPAddresses @('10.10.10.1') -EFSkipLastIP $true -EFUsers $null
} else {
    Set-InboundConnector -Identity 'mailflow from Example filtering service' -ConnectorType Partner -SenderDomains @('*') -RestrictDomainsToIPAddresses $true -SenderIPAddresses @('10.10.10.1') -EFSkipLastIP $true -EFUsers $null
}

# contoso.com: inbound connector for mail the on-premises servers send through Exchange Online
#   -CloudServicesMailEnabled: as the Hybrid Configuration Wizard sets it: keeps the headers that make on-premises and Exchange Online one organisation
#   -SenderIPAddresses: mailflow:domains[0].onPremises.ips (onPremises.certificateName is unset)
$wizard = Get-InboundConnector | Where-Object { $_.ConnectorType -eq 'OnPremises' -and $_.Name -notlike 'mailflow *' }
if ($wizard) {
    Write-Warning ('mailflow from on-premises: not made, the tenant has its own on-premises connector ' + ($wizard.Name -join ', ') + '; set onPremises.hybridWizard: true if the wizard keeps it')
} else {
    if (-not (Get-InboundConnector -Identity 'mailflow from on-premises' -ErrorAction SilentlyContinue)) {
        New-InboundConnector -Name 'mailflow from on-premises' -ConnectorType OnPremises -CloudServicesMailEnabled $true -SenderDomains @('*') -SenderIPAddresses @('131.107.21.231')
    } else {
        Set-InboundConnector -Identity 'mailflow from on-premises' -ConnectorType OnPremises -CloudServicesMailEnabled $true -SenderDomains @('*') -SenderIPAddresses @('131.107.21.231')
    }
}

# contoso.com: accepted domain type, mailflow:domains[0].exchangeOnline.directorySync (default true): on-premises recipients are known to Exchange Online
Set-AcceptedDomain -Identity 'contoso.com' -DomainType Authoritative
