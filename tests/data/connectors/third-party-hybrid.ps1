# Exchange Online connectors of the mail domains planned by mailflow.
# Run in Exchange Online PowerShell after Connect-ExchangeOnline. Each connector is created
# when missing and set to the same values when present, so running this again changes nothing.
# Values without a note are fixed by the connector's purpose.
#
# Warnings:
#   mailflow:domains[0].thirdParty.connectorIps: is not set and thirdParty.spf has no ip4 term to default to, so the Partner inbound connector is left out; list the service's IPv4 addresses (/24 to /32) or set thirdParty.certificateName
#   mailflow:domains[0].thirdParty.outboundSmartHosts: is not set, so outbound mail leaves Exchange Online directly, not through Example filtering service, which SPF authorises (sendsOutbound): set the service's outbound relays to route mail through it, or sendsOutbound: false
#   mailflow:domains[0].onPremises.smartHost: is not set, so the outbound connector to on-premises is left out: Exchange Online needs the host name of the on-premises servers that take mail for their mailboxes, e.g. mail.contoso.com

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
