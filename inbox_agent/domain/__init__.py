"""The domain: frozen records and the case lifecycle (ids, events, status changes,
severity order), the outbox entry and its retry schedule, masking of secrets.

Pure: no I/O. May import nothing of inbox_agent outside ``domain``.
"""
