# Exchange Online connectors of the mail domains planned by mailflow.
# Run in Exchange Online PowerShell after Connect-ExchangeOnline. Each connector is created
# when missing and set to the same values when present, so running this again changes nothing.
# Values without a note are fixed by the connector's purpose.

# No connectors to create or update.

# fabrikam.com: accepted domain type, exchange-online: every mailbox is in Exchange Online
Set-AcceptedDomain -Identity 'fabrikam.com' -DomainType Authoritative
