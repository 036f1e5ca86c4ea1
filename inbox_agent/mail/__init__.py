"""Outgoing mail: template contexts, the Jinja2 template set shipped in ``templates/``,
MIME building with our own headers, and sample requests for the template check.

Pure but for reading the template files. May import ``config`` and ``domain``.
"""
