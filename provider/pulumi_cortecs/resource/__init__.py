"""ManagedInstance, the Pulumi resource, and the provider behind it."""
