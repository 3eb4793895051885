"""Backend adapters, one subpackage per library (``step.plugins.<name>``).

Each adapter is a plugin registered through the ``step.backends`` entry point exactly as a
third-party plugin would be; see plugins/README.md for the contract.
"""
