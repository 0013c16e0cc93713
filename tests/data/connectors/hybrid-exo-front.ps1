# Exchange Online connectors of the mail domains planned by mailflow.
# Run in Exchange Online PowerShell after Connect-ExchangeOnline. Each connector is created
# when missing and set to the same values when present, so running this again changes nothing.
# Values without a note are fixed by the connector's purpose.
#
# Warnings:
#   mailflow:domains[0].onPremises.ips[1]: '2001:db8:25::/64' is IPv6 and left out of the connector: SenderIPAddresses holds IPv4 addresses only (match an IPv6 sender by onPremises.certificateName)

# wingtiptoys.com: outbound connector for mail to mailboxes on the on-premises servers
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
        New-OutboundConnector -Name 'mailflow to on-premises' -ConnectorType OnPremises -CloudServicesMailEnabled $true -UseMXRecord $false -SmartHosts @('mail.wingtiptoys.com') -TlsSettings DomainValidation -TlsDomain 'mail.wingtiptoys.com' -RecipientDomains @('wingtiptoys.com') -RouteAllMessagesViaOnPremises $false
    } else {
        Set-OutboundConnector -Identity 'mailflow to on-premises' -ConnectorType OnPremises -CloudServicesMailEnabled $true -UseMXRecord $false -SmartHosts @('mail.wingtiptoys.com') -TlsSettings DomainValidation -TlsDomain 'mail.wingtiptoys.com' -RecipientDomains @('wingtiptoys.com') -RouteAllMessagesViaOnPremises $false
    }
}

# wingtiptoys.com: inbound connector for mail the on-premises servers send through Exchange Online
#   -CloudServicesMailEnabled: as the Hybrid Configuration Wizard sets it: keeps the headers that make on-premises and Exchange Online one organisation
#   -SenderIPAddresses: mailflow:domains[0].onPremises.ips (onPremises.certificateName is unset)
$wizard = Get-InboundConnector | Where-Object { $_.ConnectorType -eq 'OnPremises' -and $_.Name -notlike 'mailflow *' }
if ($wizard) {
    Write-Warning ('mailflow from on-premises: not made, the tenant has its own on-premises connector ' + ($wizard.Name -join ', ') + '; set onPremises.hybridWizard: true if the wizard keeps it')
} else {
    if (-not (Get-InboundConnector -Identity 'mailflow from on-premises' -ErrorAction SilentlyContinue)) {
        New-InboundConnector -Name 'mailflow from on-premises' -ConnectorType OnPremises -CloudServicesMailEnabled $true -SenderDomains @('*') -SenderIPAddresses @('203.0.113.25')
    } else {
        Set-InboundConnector -Identity 'mailflow from on-premises' -ConnectorType OnPremises -CloudServicesMailEnabled $true -SenderDomains @('*') -SenderIPAddresses @('203.0.113.25')
    }
}

# wingtiptoys.com: accepted domain type, mailflow:domains[0].exchangeOnline.directorySync (default true): on-premises recipients are known to Exchange Online
Set-AcceptedDomain -Identity 'wingtiptoys.com' -DomainType Authoritative
