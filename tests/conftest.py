"""The fixtures come from the package's own pytest plugin (pulumi_cortecs.testing.pytest_plugin),
loaded through its entry point like any user's test suite would load it."""
