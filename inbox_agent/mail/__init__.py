"""Outgoing mail: template contexts (``compose``), the Jinja2 template set shipped in
``templates/`` (``render``, words in ``labels``), MIME building with our own headers
(``mime``), and sample requests for the template check (``samples``).

Pure but for reading the template files. May import ``config`` and ``domain``; a
template of a higher layer (the staff page) brings its own check sample.
"""
