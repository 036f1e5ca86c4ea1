"""Read models for people: the staff page's sections, case views and timelines.

Pure. May import ``policies``, ``stages``, ``mail``, ``config``, ``domain``.
"""
