"""Templates of sequence-model problems; `REGISTRY` maps each template id to its template."""

from generators.core.errors import (
    DuplicateTemplateError,
    FieldError,
    ParamError,
    ResponseError,
    SamplingError,
    TemplateError,
    UnknownTemplateError,
    VersionError,
)
from generators.core.registry import Registry, discover
from generators.core.template import Template, Variant
from generators.core.variants import check_version, grade_response, make_variant, resolve

REGISTRY: Registry = discover(__name__)


def get_template(template_id: str) -> Template:
    return REGISTRY.get(template_id)


__all__ = [
    "REGISTRY",
    "DuplicateTemplateError",
    "FieldError",
    "ParamError",
    "Registry",
    "ResponseError",
    "SamplingError",
    "Template",
    "TemplateError",
    "UnknownTemplateError",
    "Variant",
    "VersionError",
    "check_version",
    "get_template",
    "grade_response",
    "make_variant",
    "resolve",
]
