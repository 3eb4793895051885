"""Adapter for spikingjelly (being written)."""
