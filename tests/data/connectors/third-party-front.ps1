# Exchange Online connectors of the mail domains planned by mailflow.
# Run in Exchange Online PowerShell after Connect-ExchangeOnline. Each connector is created
# when missing and set to the same values when present, so running this again changes nothing.
# Values without a note are fixed by the connector's purpose.

# tailspintoys.com: Partner inbound connector for mail relayed by Mimecast (Europe)
#   -SenderIPAddresses: mailflow:domains[0].thirdParty.connectorIps
#   -EFSkipLastIP: on by default, skipping the service's own hop (mailflow:domains[0].thirdParty.enhancedFiltering is unset)
#   -EFUsers: everyone (mailflow:domains[0].thirdParty.enhancedFilteringUsers is unset)
if (-not (Get-InboundConnector -Identity 'mailflow from Mimecast (Europe)' -ErrorAction SilentlyContinue)) {
    New-InboundConnector -Name 'mailflow from Mimecast (Europe)' -ConnectorType Partner -SenderDomains @('*') -RestrictDomainsToIPAddresses $true -SenderIPAddresses @('198.51.100.0/24','203.0.113.0/24') -EFSkipLastIP $true -EFUsers $null
} else {
    Set-InboundConnector -Identity 'mailflow from Mimecast (Europe)' -ConnectorType Partner -SenderDomains @('*') -RestrictDomainsToIPAddresses $true -SenderIPAddresses @('198.51.100.0/24','203.0.113.0/24') -EFSkipLastIP $true -EFUsers $null
}

# tailspintoys.com: Partner outbound connector: internet mail leaves through Mimecast (Europe)
#   -SmartHosts: mailflow:domains[0].thirdParty.outboundSmartHosts
#   -TlsSettings: a trusted certificate, any name (mailflow:domains[0].thirdParty.certificateName is unset)
if (-not (Get-OutboundConnector -Identity 'mailflow to Mimecast (Europe)' -ErrorAction SilentlyContinue)) {
    New-OutboundConnector -Name 'mailflow to Mimecast (Europe)' -ConnectorType Partner -RecipientDomains @('*') -UseMXRecord $false -SmartHosts @('relay1.tailspintoys.example.net','relay2.tailspintoys.example.net') -TlsSettings CertificateValidation
} else {
    Set-OutboundConnector -Identity 'mailflow to Mimecast (Europe)' -ConnectorType Partner -RecipientDomains @('*') -UseMXRecord $false -SmartHosts @('relay1.tailspintoys.example.net','relay2.tailspintoys.example.net') -TlsSettings CertificateValidation
}

# tailspintoys.com: accepted domain type, third-party-front: every mailbox is in Exchange Online
Set-AcceptedDomain -Identity 'tailspintoys.com' -DomainType Authoritative
