"""The service layer: ports (Mailbox, Transport, CaseStore) and the use cases —
intake, delivery, escalation sweep, staff actions, quarantine retry, retention,
the staff page. Every change to the store is one use case inside one unit of work
that commits once.

May import every layer below it (``pipeline``, ``views`` and down); never an adapter.
"""
