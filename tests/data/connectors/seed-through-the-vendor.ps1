# Exchange Online connectors of the mail domains planned by mailflow.
# Run in Exchange Online PowerShell after Connect-ExchangeOnline. Each connector is created
# when missing and set to the same values when present, so running this again changes nothing.
# Values without a note are fixed by the connector's purpose.

# contoso.com: Partner inbound connector for mail relayed by Example filtering service
#   -TlsSenderCertificateName: mailflow:domains[0].thirdParty.certificateName
#   -EFSkipLastIP: on by default, skipping the service's own hop (mailflow:domains[0].thirdParty.enhancedFiltering is unset)
#   -EFUsers: mailflow:domains[0].thirdParty.enhancedFilteringUsers
if (-not (Get-InboundConnector -Identity 'mailflow from Example filtering service' -ErrorAction SilentlyContinue)) {
    New-InboundConnector -Name 'mailflow from Example filtering service' -ConnectorType Partner -SenderDomains @('*') -RestrictDomainsToCertificate $true -TlsSenderCertificateName '*.filter.example.net' -RequireTls $true -EFSkipLastIP $true -EFUsers @('pilot1@contoso.com','pilot2@contoso.com')
} else {
    Set-InboundConnector -Identity 'mailflow from Example filtering service' -ConnectorType Partner -SenderDomains @('*') -RestrictDomainsToCertificate $true -TlsSenderCertificateName '*.filter.example.net' -RequireTls $true -EFSkipLastIP $true -EFUsers @('pilot1@contoso.com','pilot2@contoso.com')
}

# contoso.com: Partner outbound connector: internet mail leaves through Example filtering service
#   -SmartHosts: mailflow:domains[0].thirdParty.outboundSmartHosts
#   -TlsDomain: mailflow:domains[0].thirdParty.certificateName
if (-not (Get-OutboundConnector -Identity 'mailflow to Example filtering service' -ErrorAction SilentlyContinue)) {
    New-OutboundConnector -Name 'mailflow to Example filtering service' -ConnectorType Partner -RecipientDomains @('*') -UseMXRecord $false -SmartHosts @('out1.filter.example.net','out2.filter.example.net') -TlsSettings DomainValidation -TlsDomain '*.filter.example.net'
} else {
    Set-OutboundConnector -Identity 'mailflow to Example filtering service' -ConnectorType Partner -RecipientDomains @('*') -UseMXRecord $false -SmartHosts @('out1.filter.example.net','out2.filter.example.net') -TlsSettings DomainValidation -TlsDomain '*.filter.example.net'
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

# ARC: trust the seals of the services that modify messages on their way in.
$sealers = @((Get-ArcConfig).ArcTrustedSealers -split ',' | ForEach-Object { $_.Trim() } |
    Where-Object { $_ })
$sealers = @($sealers + @('filter.example.net') | Sort-Object -Unique)
Set-ArcConfig -Identity Default -ArcTrustedSealers $sealers

# contoso.com: accepted domain type, mailflow:domains[0].exchangeOnline.directorySync (default true): on-premises recipients are known to Exchange Online
Set-AcceptedDomain -Identity 'contoso.com' -DomainType Authoritative
