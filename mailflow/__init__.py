"""mailflow: the DNS side of Microsoft 365 mail flow, planned from typed config and applied by Pulumi."""
