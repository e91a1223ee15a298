"""The cortecs.ai dedicated-instance API: a typed client and its models. No Pulumi in here."""
