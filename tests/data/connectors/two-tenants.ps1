# Exchange Online connectors of the mail domains planned by mailflow.
# Run in Exchange Online PowerShell after Connect-ExchangeOnline. Each connector is created
# when missing and set to the same values when present, so running this again changes nothing.
# Values without a note are fixed by the connector's purpose.
#
# Warnings:
#   mailflow:domains[2].onPremises.ips[1]: '2001:db8:25::/64' is IPv6 and left out of the connector: SenderIPAddresses holds IPv4 addresses only (match an IPv6 sender by onPremises.certificateName)
#   mailflow:domains[4].thirdParty.connectorIps: is not set and thirdParty.spf has no ip4 term to default to, so the Partner inbound connector is left out; list the service's IPv4 addresses (/24 to /32) or set thirdParty.certificateName
#   mailflow:domains[4].thirdParty.outboundSmartHosts: is not set, so outbound mail leaves Exchange Online directly, not through Example filtering service, which SPF authorises (sendsOutbound): set the service's outbound relays to route mail through it, or sendsOutbound: false

# The stack's domains are in several tenants ('default', 'adatum'): run this once in each,
# naming it (-Tenant), after Connect-ExchangeOnline to that tenant.
param(
    [Parameter(Mandatory = $true)]
    [ValidateSet('default', 'adatum')]
    [string] $Tenant
)

if ($Tenant -eq 'default') {

    # tailspintoys.com: Partner inbound connector for mail relayed by Mimecast (Europe)
    #   -SenderIPAddresses: mailflow:domains[1].thirdParty.connectorIps
    #   -EFSkipLastIP: on by default, skipping the service's own hop (mailflow:domains[1].thirdParty.enhancedFiltering is unset)
    #   -EFUsers: everyone (mailflow:domains[1].thirdParty.enhancedFilteringUsers is unset)
    if (-not (Get-InboundConnector -Identity 'mailflow from Mimecast (Europe)' -ErrorAction SilentlyContinue)) {
        New-InboundConnector -Name 'mailflow from Mimecast (Europe)' -ConnectorType Partner -SenderDomains @('*') -RestrictDomainsToIPAddresses $true -SenderIPAddresses @('192.0.2.0/24') -EFSkipLastIP $true -EFUsers $null
    } else {
        Set-InboundConnector -Identity 'mailflow from Mimecast (Europe)' -ConnectorType Partner -SenderDomains @('*') -RestrictDomainsToIPAddresses $true -SenderIPAddresses @('192.0.2.0/24') -EFSkipLastIP $true -EFUsers $null
    }

    # fabrikam.com: accepted domain type, exchange-online: every mailbox is in Exchange Online
    Set-AcceptedDomain -Identity 'fabrikam.com' -DomainType Authoritative

    # tailspintoys.com: accepted domain type, third-party-front: every mailbox is in Exchange Online
    Set-AcceptedDomain -Identity 'tailspintoys.com' -DomainType Authoritative
}

if ($Tenant -eq 'adatum') {

    # wingtiptoys.com: outbound connector for mail to mailboxes on the on-premises servers
    #   -CloudServicesMailEnabled: as the Hybrid Configuration Wizard sets it: keeps the headers that make on-premises and Exchange Online one organisation
    #   -SmartHosts: mailflow:domains[2].onPremises.smartHost
    #   -TlsDomain: mailflow:domains[2].onPremises.smartHost
    #   -RecipientDomains: mailflow:domains[2].name
    #   -RouteAllMessagesViaOnPremises: mailflow:domains[2].exchangeOnline.centralizedMailTransport (default false)
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
    #   -SenderIPAddresses: mailflow:domains[2].onPremises.ips (onPremises.certificateName is unset)
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

    # adatum.com: outbound connector for mail to mailboxes on the on-premises servers
    #   -CloudServicesMailEnabled: as the Hybrid Configuration Wizard sets it: keeps the headers that make on-premises and Exchange Online one organisation
    #   -SmartHosts: mailflow:domains[3].onPremises.mxHost (onPremises.smartHost is unset)
    #   -TlsDomain: mailflow:domains[3].onPremises.mxHost (onPremises.smartHost is unset)
    #   -RecipientDomains: mailflow:domains[3].name
    #   -RouteAllMessagesViaOnPremises: mailflow:domains[3].exchangeOnline.centralizedMailTransport (default false)
    $wizard = Get-OutboundConnector | Where-Object { $_.ConnectorType -eq 'OnPremises' -and $_.Name -notlike 'mailflow *' }
    if ($wizard) {
        Write-Warning ('mailflow to on-premises (adatum.com): not made, the tenant has its own on-premises connector ' + ($wizard.Name -join ', ') + '; set onPremises.hybridWizard: true if the wizard keeps it')
    } else {
        if (-not (Get-OutboundConnector -Identity 'mailflow to on-premises (adatum.com)' -ErrorAction SilentlyContinue)) {
            New-OutboundConnector -Name 'mailflow to on-premises (adatum.com)' -ConnectorType OnPremises -CloudServicesMailEnabled $true -UseMXRecord $false -SmartHosts @('mail.adatum.com') -TlsSettings DomainValidation -TlsDomain 'mail.adatum.com' -RecipientDomains @('adatum.com') -RouteAllMessagesViaOnPremises $false
        } else {
            Set-OutboundConnector -Identity 'mailflow to on-premises (adatum.com)' -ConnectorType OnPremises -CloudServicesMailEnabled $true -UseMXRecord $false -SmartHosts @('mail.adatum.com') -TlsSettings DomainValidation -TlsDomain 'mail.adatum.com' -RecipientDomains @('adatum.com') -RouteAllMessagesViaOnPremises $false
        }
    }

    # adatum.com: inbound connector for mail the on-premises servers send through Exchange Online
    #   -CloudServicesMailEnabled: as the Hybrid Configuration Wizard sets it: keeps the headers that make on-premises and Exchange Online one organisation
    #   -SenderIPAddresses: mailflow:domains[3].onPremises.ips (onPremises.certificateName is unset)
    #   -EFSkipLastIP: on by default where the MX points to on-premises (mailflow:domains[3].onPremises.enhancedFiltering is unset)
    #   -EFUsers: everyone (mailflow:domains[3].onPremises.enhancedFilteringUsers is unset)
    $wizard = Get-InboundConnector | Where-Object { $_.ConnectorType -eq 'OnPremises' -and $_.Name -notlike 'mailflow *' }
    if ($wizard) {
        Write-Warning ('mailflow from on-premises (adatum.com): not made, the tenant has its own on-premises connector ' + ($wizard.Name -join ', ') + '; set onPremises.hybridWizard: true if the wizard keeps it')
    } else {
        if (-not (Get-InboundConnector -Identity 'mailflow from on-premises (adatum.com)' -ErrorAction SilentlyContinue)) {
            New-InboundConnector -Name 'mailflow from on-premises (adatum.com)' -ConnectorType OnPremises -CloudServicesMailEnabled $true -SenderDomains @('*') -SenderIPAddresses @('198.51.100.10','198.51.100.11') -EFSkipLastIP $true -EFUsers $null
        } else {
            Set-InboundConnector -Identity 'mailflow from on-premises (adatum.com)' -ConnectorType OnPremises -CloudServicesMailEnabled $true -SenderDomains @('*') -SenderIPAddresses @('198.51.100.10','198.51.100.11') -EFSkipLastIP $true -EFUsers $null
        }
    }

    # contoso.net: outbound connector for mail to mailboxes on the on-premises servers
    #   -CloudServicesMailEnabled: as the Hybrid Configuration Wizard sets it: keeps the headers that make on-premises and Exchange Online one organisation
    #   -SmartHosts: mailflow:domains[4].onPremises.smartHost
    #   -TlsDomain: mailflow:domains[4].onPremises.smartHost
    #   -RecipientDomains: mailflow:domains[4].name
    #   -RouteAllMessagesViaOnPremises: mailflow:domains[4].exchangeOnline.centralizedMailTransport (default false)
    $wizard = Get-OutboundConnector | Where-Object { $_.ConnectorType -eq 'OnPremises' -and $_.Name -notlike 'mailflow *' }
    if ($wizard) {
        Write-Warning ('mailflow to on-premises (contoso.net): not made, the tenant has its own on-premises connector ' + ($wizard.Name -join ', ') + '; set onPremises.hybridWizard: true if the wizard keeps it')
    } else {
        if (-not (Get-OutboundConnector -Identity 'mailflow to on-premises (contoso.net)' -ErrorAction SilentlyContinue)) {
            New-OutboundConnector -Name 'mailflow to on-premises (contoso.net)' -ConnectorType OnPremises -CloudServicesMailEnabled $true -UseMXRecord $false -SmartHosts @('mail.contoso.net') -TlsSettings DomainValidation -TlsDomain 'mail.contoso.net' -RecipientDomains @('contoso.net') -RouteAllMessagesViaOnPremises $false
        } else {
            Set-OutboundConnector -Identity 'mailflow to on-premises (contoso.net)' -ConnectorType OnPremises -CloudServicesMailEnabled $true -UseMXRecord $false -SmartHosts @('mail.contoso.net') -TlsSettings DomainValidation -TlsDomain 'mail.contoso.net' -RecipientDomains @('contoso.net') -RouteAllMessagesViaOnPremises $false
        }
    }

    # contoso.net: inbound connector for mail the on-premises servers send through Exchange Online
    #   -CloudServicesMailEnabled: as the Hybrid Configuration Wizard sets it: keeps the headers that make on-premises and Exchange Online one organisation
    #   -SenderIPAddresses: mailflow:domains[4].onPremises.ips (onPremises.certificateName is unset)
    $wizard = Get-InboundConnector | Where-Object { $_.ConnectorType -eq 'OnPremises' -and $_.Name -notlike 'mailflow *' }
    if ($wizard) {
        Write-Warning ('mailflow from on-premises (contoso.net): not made, the tenant has its own on-premises connector ' + ($wizard.Name -join ', ') + '; set onPremises.hybridWizard: true if the wizard keeps it')
    } else {
        if (-not (Get-InboundConnector -Identity 'mailflow from on-premises (contoso.net)' -ErrorAction SilentlyContinue)) {
            New-InboundConnector -Name 'mailflow from on-premises (contoso.net)' -ConnectorType OnPremises -CloudServicesMailEnabled $true -SenderDomains @('*') -SenderIPAddresses @('131.107.21.231')
        } else {
            Set-InboundConnector -Identity 'mailflow from on-premises (contoso.net)' -ConnectorType OnPremises -CloudServicesMailEnabled $true -SenderDomains @('*') -SenderIPAddresses @('131.107.21.231')
        }
    }

    # wingtiptoys.com: accepted domain type, mailflow:domains[2].exchangeOnline.directorySync (default true): on-premises recipients are known to Exchange Online
    Set-AcceptedDomain -Identity 'wingtiptoys.com' -DomainType Authoritative

    # adatum.com: accepted domain type, mailflow:domains[3].exchangeOnline.directorySync (default true): on-premises recipients are known to Exchange Online
    Set-AcceptedDomain -Identity 'adatum.com' -DomainType Authoritative

    # contoso.net: accepted domain type, mailflow:domains[4].exchangeOnline.directorySync (default true): on-premises recipients are known to Exchange Online
    Set-AcceptedDomain -Identity 'contoso.net' -DomainType Authoritative
}
