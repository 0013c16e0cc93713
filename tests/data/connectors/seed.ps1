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

# contoso.com: outbound connector for mail to mailboxes on the on-premises servers
#   -CloudServicesMailEnabled: as the Hybrid Configuration Wizard sets it: keeps the headers that make on-premises and Exchange Online one organisation
#   -SmartHosts: mailflow:domains[0].onPremises.smartHost
#   -TlsDomain: mailflow:domains[0].onPremises.smartHost
#   -RecipientDomains: mailflow:domains[0].name
#   -RouteAllMessagesViaOnPremises: mailflow:domains[0].exchangeOnline.centralizedMailTransport (default false)
$wizard = Get-OutboundConnector | Where-Object { $_.ConnectorType -eq 'OnPremises' -and $_.Name -notlike 'mailflow *' }
if ($wizard) {
    Write-Warning ('mailflow to on-premises: not made, the tenant has its own on-premises connector ' + ($wizard.Name -join ', ') + '; set onPremises.hybridWizard: true if the wizard keeps it')
} else {
    if (-not (Get-OutboundConnector -Identity 'mailflow to on-premises' -ErrorAction SilentlyContinue)) {
        New-OutboundConnector -Name 'mailflow to on-premises' -ConnectorType OnPremises -CloudServicesMailEnabled $true -UseMXRecord $false -SmartHosts @('mail.contoso.com') -TlsSettings DomainValidation -TlsDomain 'mail.contoso.com' -RecipientDomains @('contoso.com') -RouteAllMessagesViaOnPremises $false
    } else {
        Set-OutboundConnector -Identity 'mailflow to on-premises' -ConnectorType OnPremises -CloudServicesMailEnabled $true -UseMXRecord $false -SmartHosts @('mail.contoso.com') -TlsSettings DomainValidation -TlsDomain 'mail.contoso.com' -RecipientDomains @('contoso.com') -RouteAllMessagesViaOnPremises $false
    }
}

# contoso.com: inbound connector for mail the on-premises servers send through Exchange Online
#   -CloudServicesMailEnabled: as the Hybrid Configuration Wizard sets it: keeps the headers that make on-premises and Exchange Online one organisation
#   -TlsSenderCertificateName: mailflow:domains[0].onPremises.certificateName
$wizard = Get-InboundConnector | Where-Object { $_.ConnectorType -eq 'OnPremises' -and $_.Name -notlike 'mailflow *' }
if ($wizard) {
    Write-Warning ('mailflow from on-premises: not made, the tenant has its own on-premises connector ' + ($wizard.Name -join ', ') + '; set onPremises.hybridWizard: true if the wizard keeps it')
} else {
    if (-not (Get-InboundConnector -Identity 'mailflow from on-premises' -ErrorAction SilentlyContinue)) {
        New-InboundConnector -Name 'mailflow from on-premises' -ConnectorType OnPremises -CloudServicesMailEnabled $true -SenderDomains @('*') -RequireTls $true -RestrictDomainsToCertificate $true -TlsSenderCertificateName 'mail.contoso.com'
    } else {
        Set-InboundConnector -Identity 'mailflow from on-premises' -ConnectorType OnPremises -CloudServicesMailEnabled $true -SenderDomains @('*') -RequireTls $true -RestrictDomainsToCertificate $true -TlsSenderCertificateName 'mail.contoso.com'
    }
}

# contoso.com: accepted domain type, mailflow:domains[0].exchangeOnline.directorySync (default true): on-premises recipients are known to Exchange Online
Set-AcceptedDomain -Identity 'contoso.com' -DomainType Authoritative
