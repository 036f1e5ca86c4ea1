"""Adapters: the only code that touches IMAP, SMTP, the file system and TinyDB."""
