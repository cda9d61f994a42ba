"""A valid, synthetic example of each event, derived from its JSON schema (no real data)."""

import uuid
from typing import Any

from shared.events.base import Event

EXAMPLE_TIME = "2026-01-15T09:30:00Z"
_NAMESPACE = uuid.UUID("6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f")
_BY_NAME = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "client@example.test",
    "display_name": "Dr. Rivera",
    "body": "Example message text.",
    "subject": "Example subject",
    "reason": "no_device",
}


def example(event: type[Event]) -> dict[str, Any]:
    """An instance of the event, validated by its own model and dumped as JSON values."""
    schema = event.model_json_schema()
    value = _value(schema, schema, event.__name__)
    value["event_id"] = str(uuid.uuid5(_NAMESPACE, event.__name__))
    dumped: dict[str, Any] = event.model_validate(value).model_dump(mode="json")
    return dumped


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str):
        resolved: dict[str, Any] = root["$defs"][ref.split("/")[-1]]
        return resolved
    return node


def _value(node: dict[str, Any], root: dict[str, Any], name: str) -> Any:
    node = _resolve(node, root)
    if "const" in node:
        return node["const"]
    if "enum" in node:
        return node["enum"][0]
    if node.get("default") is not None:
        return node["default"]
    for key in ("anyOf", "oneOf"):
        if key in node:
            options = [o for o in node[key] if _resolve(o, root).get("type") != "null"]
            return _value(options[0], root, name)
    kind = node.get("type")
    if kind == "object" or "properties" in node:
        return {k: _value(v, root, k) for k, v in node.get("properties", {}).items()}
    if kind == "array":
        return [_value(node.get("items", {}), root, name.removesuffix("s"))]
    if kind == "integer":
        return max(int(node.get("minimum", 1)), 1)
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return True
    return _string(node, name)


def _string(node: dict[str, Any], name: str) -> str:
    if node.get("format") == "date-time":
        return EXAMPLE_TIME
    if node.get("format") == "uuid":
        return str(uuid.uuid5(_NAMESPACE, name))
    if name in _BY_NAME:
        return _BY_NAME[name]
    if name.endswith("_id") or name.endswith("_ids"):
        text = f"{name.removesuffix('_ids').removesuffix('_id').replace('_', '-')}-0001"
    else:
        text = f"example-{name.replace('_', '-')}"
    return text[: int(node.get("maxLength", len(text)))]


def key_shape(event: type[Event]) -> str:
    """The Kafka key in terms of the value's fields, e.g. `provider_id:client_id`."""
    value = example(event)
    key = event.model_validate(value).key()
    fields = sorted(
        ((k, v) for k, v in value.items() if isinstance(v, str) and v), key=lambda kv: -len(kv[1])
    )
    for name, text in fields:
        if text in key:
            key = key.replace(text, "{" + name + "}")
    return key.replace("{", "").replace("}", "")
