"""Adapter for snntorch (being written)."""
