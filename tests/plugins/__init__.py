"""Toy extensions used by tests/test_extensions.py: each is one module and touches no existing code."""
