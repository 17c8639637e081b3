"""Test support: test doubles and fixtures shared by the test packages."""
