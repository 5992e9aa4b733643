"""Shared setup for the testing-kit tests: ``pytester`` checks the pytest plugin."""

pytest_plugins = ["pytester"]
