"""The intake pipeline as data: the stage order is a tuple of stage objects, each
deciding one thing about one mail; ``classify`` runs the same tuple cut short.

Pure: one fetched mail and a read-only view of the store in, one ``Decision`` out.
May import ``policies``, ``stages``, ``mail``, ``config``, ``domain``.
"""
