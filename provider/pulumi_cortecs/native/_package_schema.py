"""The Pulumi package schema of ``cortecs`` (what GetSchema answers), derived from the one
property schema (:mod:`pulumi_cortecs._schema`): names in camelCase as every Pulumi schema has
them, descriptions, types, defaults, secrets, replace-on-change properties, and the provider's
config with its environment fallbacks. Generated SDKs (``pulumi package add ./provider``) are
built from it; it is valid against Pulumi's package metaschema (a test checks).
"""

from __future__ import annotations

from typing import Any

from pulumi_cortecs.__version__ import __version__
from pulumi_cortecs._schema import CONFIG, PROPERTIES, Change, ConfigKey, Property

PACKAGE = "cortecs"
INSTANCE = f"{PACKAGE}:index:Instance"
"""The type token of the instance resource."""

_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean"}
_ANY = {"$ref": "pulumi.json#/Any"}


def package_schema() -> dict[str, Any]:
    config = {key.key: _config_spec(key) for key in CONFIG}
    public = [prop for prop in PROPERTIES if not prop.internal]
    inputs = [prop for prop in public if prop.is_input]
    return {
        "name": PACKAGE,
        "displayName": "cortecs.ai",
        "version": __version__,
        "description": "Dedicated LLM instances on cortecs.ai: GPU-backed, OpenAI-compatible "
        "endpoints for Hugging Face models, declared as code.",
        "keywords": ["pulumi", "cortecs", "llm", "category/ai"],
        "license": "Apache-2.0",
        "config": {"variables": config},
        "provider": {
            "description": "The provider of cortecs.ai instances: API credentials and where the "
            "journal of unfinished creates lives.",
            "type": "object",
            "inputProperties": config,
        },
        "resources": {
            INSTANCE: {
                "description": "A cortecs.ai dedicated instance serving a Hugging Face model on "
                "chosen hardware. Creating it returns once the instance answers a chat "
                "completion; deleting it stops and deletes it, so nothing keeps billing.",
                "type": "object",
                "inputProperties": {prop.camel_name: _property_spec(prop) for prop in inputs},
                "requiredInputs": [prop.camel_name for prop in inputs if prop.required],
                "properties": {prop.camel_name: _property_spec(prop) for prop in public},
                "required": [prop.camel_name for prop in public if always_set(prop)],
            }
        },
        "language": {
            # A Python program uses the package itself (ManagedInstance): a generated SDK must
            # not take its import name.
            "python": {"packageName": "pulumi_cortecs_native"},
        },
    }


def always_set(prop: Property) -> bool:
    """Whether the resource's state always has a value for ``prop`` (the schema's
    ``required``): resolved start arguments, inputs with a default, outputs never null."""
    if prop.is_input:
        return prop.required or prop.start_arg or prop.default is not None
    return not prop.nullable


def _property_spec(prop: Property) -> dict[str, Any]:
    spec: dict[str, Any] = {"description": prop.description}
    if prop.python_type is dict:
        spec.update(type="object", additionalProperties=_ANY)
    else:
        spec["type"] = _TYPES[prop.python_type]
    if prop.is_input and isinstance(prop.default, bool | int | float | str):
        spec["default"] = prop.default
    if prop.change is Change.REPLACE:
        spec["replaceOnChanges"] = True
    return spec


def _config_spec(key: ConfigKey) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "type": "string",
        "description": key.description,
        "defaultInfo": {"environment": [key.environment]},
    }
    if key.secret:
        spec["secret"] = True
    return spec
