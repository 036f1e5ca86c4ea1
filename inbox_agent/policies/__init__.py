"""Policies over stored cases: response-time clocks (SLA), escalation levels,
staff commands (a table of small command objects), retention.

Pure: cases and a time in, new cases and mail out. May import ``stages``, ``mail``,
``config``, ``domain``.
"""
