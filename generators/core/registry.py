"""The registry of templates: id -> template, filled by importing every template module."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator

from generators.core.errors import DuplicateTemplateError, UnknownTemplateError
from generators.core.template import Template


class Registry:
    def __init__(self) -> None:
        self._templates: dict[str, Template] = {}

    def register(self, template: Template) -> Template:
        if template.id in self._templates:
            raise DuplicateTemplateError(
                f"template id {template.id!r} is registered twice "
                f"({type(self._templates[template.id]).__qualname__} and {type(template).__qualname__})"
            )
        self._templates[template.id] = template
        return template

    def get(self, template_id: str) -> Template:
        try:
            return self._templates[template_id]
        except (KeyError, TypeError):
            raise UnknownTemplateError(
                f"template: unknown template {template_id!r}; known: {', '.join(sorted(self._templates))}"
            ) from None

    def __iter__(self) -> Iterator[Template]:
        return iter(sorted(self._templates.values(), key=lambda t: t.id))

    def __len__(self) -> int:
        return len(self._templates)

    def __contains__(self, template_id: object) -> bool:
        return template_id in self._templates


def discover(package: str) -> Registry:
    """Import each top-level module of `package` (not subpackages, not `_private`) and register
    its `TEMPLATE`: adding a template is adding one module."""
    registry = Registry()
    pkg = importlib.import_module(package)
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if info.ispkg or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package}.{info.name}")
        template = getattr(module, "TEMPLATE", None)
        if template is not None:
            registry.register(template)
    return registry
