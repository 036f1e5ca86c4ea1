"""Configuration: the TOML file read and validated into frozen settings records,
and the categorizer's rule set (curated terms, ``default_rules.toml``) and learned
model (``category_model.json``, read by ``model_file.py``).

Reads files only when asked to load them. May import ``domain``.
"""
