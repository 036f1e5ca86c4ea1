"""Every module of the package imports on its own. A name removed from one module but
still imported (or re-exported) by another breaks every command; this finds it in
seconds, whichever test happens to touch the module."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import inbox_agent

# __main__ runs the command line when imported: it is what `python -m inbox_agent` runs.
MODULES = sorted(
    name
    for _, name, _ in pkgutil.walk_packages(inbox_agent.__path__, prefix="inbox_agent.")
    if not name.endswith(".__main__")
)


def test_the_package_has_its_layers() -> None:
    assert {"inbox_agent.domain.model", "inbox_agent.entrypoints.cli", "inbox_agent.config.rules"} <= set(
        MODULES
    )


@pytest.mark.parametrize("name", MODULES)
def test_module_imports(name: str) -> None:
    importlib.import_module(name)
