"""Configuration: the TOML file read and validated into frozen settings records,
and the categorizer's rule set (curated and learned terms, ``default_rules.toml``).

Reads files only when asked to load them. May import ``domain``.
"""
