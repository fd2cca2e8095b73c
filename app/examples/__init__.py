"""Example plugins, for the documentation and the tests."""
