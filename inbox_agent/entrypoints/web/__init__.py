"""The staff web app (`inbox-agent web`): queue, case, actions, sign-in.

An entry point like the CLI: it gets its store, services and adapters from
``entrypoints.bootstrap.build_web`` and changes cases only through the services and
their unit of work. ``app`` builds the Starlette application, ``security`` holds the
sessions, CSRF, headers and client checks, ``routes_auth`` and ``routes_cases`` the
pages; templates and static files ship as package data.
"""
