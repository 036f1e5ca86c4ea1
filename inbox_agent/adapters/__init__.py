"""Adapters: the only code that touches IMAP, SMTP, the file system and TinyDB.

Each implements a port of ``services.ports``. May import ``services`` and below;
only ``entrypoints.bootstrap`` builds them.
"""
