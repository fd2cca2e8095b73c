"""Precommit and validation plugins: tenant-supplied Python classes, dispatched by type name.

A plugin class decorates its methods with `@handles("TypeName")`. A precommit handler receives a
dict snapshot of the producer or producer code and returns the (possibly modified) dict; a
validation handler returns a list of error messages. Handlers of an extended type apply to the
types that extend it. A handler that raises never corrupts data: precommit failures refuse the
save and validation failures become validation errors.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

Handler = Callable[..., Any]


def handles(*type_names: str) -> Callable[[Handler], Handler]:
    """Mark a plugin method as the handler for the named producer or producer-code types."""

    def mark(fn: Handler) -> Handler:
        fn.__plugin_types__ = type_names  # type: ignore[attr-defined]
        return fn

    return mark


class PluginError(Exception):
    """A plugin could not be loaded or raised while running; the message is safe to show."""


def _handlers_of(instance: object) -> dict[str, Handler]:
    table: dict[str, Handler] = {}
    for name in dir(type(instance)):
        member = getattr(instance, name, None)
        for type_name in getattr(member, "__plugin_types__", ()):
            table[type_name] = member  # type: ignore[assignment]
    return table


def load_plugin(path: str) -> object:
    """Instantiate the class at a dotted path ("package.module.Class")."""
    module_name, _, class_name = path.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
        return cls()
    except Exception as exc:  # any import-time failure of tenant code
        raise PluginError(f"Plugin {path} could not be loaded: {type(exc).__name__}.") from exc


@dataclass
class Plugins:
    """The loaded plugins of one tenant, with the type hierarchy used to dispatch."""

    precommit: dict[str, Handler] = field(default_factory=dict)
    validation: dict[str, Handler] = field(default_factory=dict)

    @classmethod
    def load(cls, precommit_path: str | None, validation_path: str | None) -> Plugins:
        pre = _handlers_of(load_plugin(precommit_path)) if precommit_path else {}
        val = _handlers_of(load_plugin(validation_path)) if validation_path else {}
        return cls(pre, val)

    @staticmethod
    def _find(table: dict[str, Handler], lineage: list[str]) -> Handler | None:
        for type_name in lineage:
            if type_name in table:
                return table[type_name]
        return None

    def has_precommit(self, lineage: list[str]) -> bool:
        """Whether a precommit handler applies to the most specific type in `lineage` or one it extends."""
        return self._find(self.precommit, lineage) is not None

    def run_precommit(self, lineage: list[str], snapshot: dict[str, Any]) -> dict[str, Any]:
        """The snapshot after the precommit handler for the most specific type in `lineage`."""
        handler = self._find(self.precommit, lineage)
        if handler is None:
            return snapshot
        try:
            result = handler(dict(snapshot))
        except Exception as exc:
            log.warning("precommit plugin raised", extra={"type": lineage[0], "error": type(exc).__name__})
            raise PluginError(f"The precommit plugin for {lineage[0]} failed: {type(exc).__name__}.") from exc
        if not isinstance(result, dict):
            raise PluginError(f"The precommit plugin for {lineage[0]} must return a dict.")
        return result

    def run_validation(self, lineage: list[str], snapshot: dict[str, Any]) -> list[str]:
        """Error messages from the validation handler; a handler that raises is one error."""
        handler = self._find(self.validation, lineage)
        if handler is None:
            return []
        try:
            result = handler(dict(snapshot))
        except Exception as exc:
            log.warning("validation plugin raised", extra={"type": lineage[0], "error": type(exc).__name__})
            return [f"The validation plugin for {lineage[0]} failed: {type(exc).__name__}."]
        if result is None:
            return []
        if isinstance(result, str):
            return [result]
        return [str(item) for item in result]
