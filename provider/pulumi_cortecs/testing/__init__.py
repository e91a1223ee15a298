"""Test helpers: a fake of the API, and a driver that plays the Pulumi engine's part."""
