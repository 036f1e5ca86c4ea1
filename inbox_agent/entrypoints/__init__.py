"""Entry points: the bootstrap that wires adapters to services from the config, the
daemon loop, and the command line.

The top layer: may import everything; nothing imports it.
"""
