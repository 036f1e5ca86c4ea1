"""The pure stages of the intake pipeline: parse, guard (loop and auto-reply
detection), thread, categorize, evidence, acknowledge.

Pure: bytes and records in, records out. May import ``mail``, ``config``, ``domain``.
"""
