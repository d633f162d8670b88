"""The package's TypedDicts, written from the config models: one definition of each field, in the pydantic models.

Pulumi infers a component package's schema from TypedDicts and Enums (`pulumi.provider.experimental`); it refuses
pydantic models, `Literal`, `Union` and `Annotated`. This module turns each config model into a TypedDict of the
same name and fields: `Literal` becomes an Enum, `Annotated` its base type, a defaulted or optional field
`NotRequired`, and the cluster's tagged union one TypedDict whose `mode` picks the variant (the model still checks
which keys each mode takes). Descriptions and defaults go into docstrings, which become the schema's descriptions.

A component's args TypedDict spells out every field again instead of inheriting its section's TypedDict: Pulumi
takes a field's description only from the class that declares it.

Stack-file keys that aren't Python identifiers (`cluster.addons` is keyed by EKS add-on name) are spelt the
Pulumi way in the schema, camelCase of the model's field name (`vpcCni`); the models take both spellings.

`write_module()` renders `pulumi_components/args.py` from the config models and each component's args model
(`config/component_args.py`, listed by `parts.COMPONENT_ARGS`); a test renders it again and fails when the
committed file differs, and
`shape_of_typeddict`/`shape_of_model` compare any TypedDict with the model it mirrors, field by field.
"""

from __future__ import annotations

import enum
import json
import re
import sys
import types
import typing
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from ..config.component_args import PULUMI_INPUT_STR
from ..parts import COMPONENT_ARGS

__all__ = ["GENERATED_MODULE", "render_module", "shape_of_model", "shape_of_typeddict", "write_module"]

GENERATED_MODULE = Path(__file__).parent.parent / "pulumi_components" / "args.py"
# The TypedDict standing for a tagged union of models.
_UNION_NAMES = {
    frozenset({"EksClusterConfig", "ExistingClusterConfig"}): "ClusterConfig",
    frozenset({"EksClusterConfig", "EksAutoClusterConfig", "ExistingClusterConfig"}): "ClusterConfig",
}


def _pascal(snake: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in snake.split("_"))


def _member_name(value: str) -> str:
    """`NoSchedule` -> NO_SCHEDULE, `on-demand` -> ON_DEMAND, `controllerManager` -> CONTROLLER_MANAGER."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", value)
    return re.sub(r"[^A-Za-z0-9]+", "_", spaced).strip("_").upper()


def _strip(annotation: Any) -> Any:
    """The type under `Annotated`."""
    while get_origin(annotation) is typing.Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _non_none(annotation: Any) -> tuple[Any, bool]:
    """(the type without None, whether None was allowed)."""
    annotation = _strip(annotation)
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        optional = len(args) < len(get_args(annotation))
        if len(args) == 1:
            return _strip(args[0]), optional
        return Union[tuple(args)], optional  # noqa: UP007 - a runtime union of models
    return annotation, False


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


@dataclass
class _Enum:
    name: str
    doc: str
    values: tuple[str, ...]


@dataclass
class _Field:
    name: str
    annotation: str
    required: bool
    doc: str


@dataclass
class _TypedDict:
    name: str
    doc: str
    fields: list[_Field]


class _Writer:
    """Walks the models depth first, so each class is emitted after the classes its fields name (the config has
    no recursive model)."""

    def __init__(self) -> None:
        self.enums: dict[str, _Enum] = {}
        self.dicts: dict[str, _TypedDict] = {}

    def model(self, model: type[BaseModel]) -> str:
        if model.__name__ not in self.dicts:  # the fields first: they register the classes they name
            fields = [self.field(model, name, info) for name, info in model.model_fields.items()]
            self.dicts[model.__name__] = _TypedDict(model.__name__, _doc(model), fields)
        return model.__name__

    def union(self, models: tuple[type[BaseModel], ...]) -> str:
        name = _UNION_NAMES.get(frozenset(m.__name__ for m in models))
        if name is None:
            raise TypeError(f"no TypedDict name for the union of {', '.join(m.__name__ for m in models)}")
        if name not in self.dicts:
            modes = [get_args(_strip(m.model_fields["mode"].annotation))[0] for m in models]
            fields = [_Field("mode", self.enum(name.removesuffix("Config") + "Mode", tuple(modes),
                                               f"Which `{name}` variant the other keys describe."),
                             True, "Picks the variant: " + "; ".join(
                                 f"{mode}: {_doc(m).rstrip('.')}" for mode, m in zip(modes, models, strict=True)))]
            for mode, model in zip(modes, models, strict=True):
                for field_name, info in model.model_fields.items():
                    if field_name == "mode":
                        continue
                    one = self.field(model, field_name, info)
                    one.required = False  # required for its mode only: the model says which
                    one.doc = f"(mode {mode}{', required' if info.is_required() else ''}) {one.doc}"
                    fields.append(one)
            self.dicts[name] = _TypedDict(name, "The cluster: a new EKS cluster (mode eks) or an existing one "
                                                "(mode existing).", fields)
        return name

    def enum(self, name: str, values: tuple[str, ...], doc: str) -> str:
        known = self.enums.get(name)
        if known and known.values != values:
            raise TypeError(f"two enums named {name}: {known.values} and {values}")
        self.enums[name] = _Enum(name, doc, values)
        return name

    def annotation(self, owner: type[BaseModel], field_name: str, annotation: Any) -> str:
        annotation, _ = _non_none(annotation)
        origin = get_origin(annotation)
        if annotation in (str, int, float, bool):
            return str(annotation.__name__)
        if origin is Literal:
            values = get_args(annotation)
            if not all(isinstance(v, str) for v in values):
                raise TypeError(f"{owner.__name__}.{field_name}: only string Literals become Enums")
            declared_in = _declaring_model(owner, field_name)
            name = declared_in.__name__.removesuffix("Config") + _pascal(field_name)
            return self.enum(name, values, f"The values of `{declared_in.__name__}.{field_name}`.")
        if origin is list:
            if _literal_items(annotation):  # see _literal_items
                return "list[str]"
            return f"list[{self.annotation(owner, field_name, get_args(annotation)[0])}]"
        if origin is dict:
            key, value = get_args(annotation)
            if key is not str:
                raise TypeError(f"{owner.__name__}.{field_name}: map keys must be strings")
            return f"dict[str, {self.annotation(owner, field_name, value)}]"
        if origin in (Union, types.UnionType) and all(_is_model(a) for a in get_args(annotation)):
            return self.union(get_args(annotation))
        if _is_model(annotation):
            return self.model(annotation)
        raise TypeError(f"{owner.__name__}.{field_name}: no TypedDict spelling for {annotation!r}")

    def field(self, owner: type[BaseModel], name: str, info: FieldInfo) -> _Field:
        if info.json_schema_extra == PULUMI_INPUT_STR:
            return _Field(name, "pulumi.Input[str]", True, (info.description or "").strip())
        spelled = self.annotation(owner, name, info.annotation)
        doc = (info.description or "").strip()
        allowed = _literal_items(info.annotation)
        if allowed:
            doc = f"{doc.rstrip('.')}; each one of {', '.join(allowed)}" if doc else f"each one of {', '.join(allowed)}"
        default = _default_text(info)
        if default:
            doc = f"{doc.rstrip('.')}. Default: {default}." if doc else f"Default: {default}."
        return _Field(name, spelled, info.is_required() and not _non_none(info.annotation)[1], doc)


def _literal_items(annotation: Any) -> tuple[str, ...]:
    """The values a list of Literals takes, else (). Such lists are `list[str]` in the package: Pulumi's component
    provider (3.259) maps each item of a list of enums as if it were an object, so every item arrives as {}. The
    models check the values, with the same error as in a stack file."""
    annotation, _ = _non_none(annotation)
    if get_origin(annotation) is list and get_origin(_strip(get_args(annotation)[0])) is Literal:
        return tuple(get_args(_strip(get_args(annotation)[0])))
    return ()


def _declaring_model(model: type[BaseModel], field_name: str) -> type[BaseModel]:
    """The model that declares `field_name` (a base of `model`, for an inherited field): enums are named after it,
    so one set of values is one Enum however many models take it."""
    return next(c for c in reversed(model.__mro__) if field_name in c.__dict__.get("__annotations__", {}))


def _doc(model: type[BaseModel]) -> str:
    return " ".join((model.__doc__ or "").split())


def _default_text(info: FieldInfo) -> str:
    if info.is_required():
        return ""
    value = info.default_factory() if info.default_factory else info.default  # type: ignore[call-arg]
    if value is None or value is PydanticUndefined:
        return ""
    if isinstance(value, BaseModel):
        return ", ".join(f"{k}={json.dumps(v)}" for k, v in value.model_dump(by_alias=True, exclude_none=True).items()
                         if not isinstance(v, (dict, list)) or v) or "its fields' defaults"
    if isinstance(value, list) and any(isinstance(v, BaseModel) for v in value):
        return f"{len(value)} entries (see the docs)"
    return json.dumps(value)


def _quoted(text: str) -> str:
    return '"""' + text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"') + '"""'


def render_module(roots: Iterable[type[BaseModel]] = COMPONENT_ARGS.values()) -> str:
    writer = _Writer()
    for root in roots:
        writer.model(root)
    names = [*writer.enums, *writer.dicts]
    lines = [
        '"""The components\' args and the stack file\'s config keys, as TypedDicts and Enums: the package schema\'s types.',
        "",
        "Generated by `python -m gpu_node_pools.provider.typeddicts` from the config models and the components' args",
        "models (config/component_args.py); `make generate` rewrites it and a test fails when it is stale. Do not edit.",
        '"""',
        "",
        "# No `from __future__ import annotations`: Pulumi's schema inference reads these annotations at runtime.",
        "",
        "from enum import Enum",
        "from typing import NotRequired, TypedDict",
        "",
        "import pulumi",
        "",
        "__all__ = [",
        *(f'    "{name}",' for name in sorted(names)),
        "]",
    ]
    for one in writer.enums.values():
        lines += ["", "", f"class {one.name}(str, Enum):", f"    {_quoted(one.doc)}", ""]
        for value in one.values:
            lines.append(f"    {_member_name(value)} = {value!r}")
    for typed in writer.dicts.values():
        lines += ["", "", f"class {typed.name}(TypedDict):", f"    {_quoted(typed.doc)}", ""]
        for one_field in typed.fields:
            spelled = one_field.annotation if one_field.required else f"NotRequired[{one_field.annotation}]"
            lines += [f"    {one_field.name}: {spelled}", f"    {_quoted(one_field.doc)}"]
    return "\n".join(lines) + "\n"


def write_module() -> bool:
    """Rewrites config_types.py; True when it changed."""
    text = render_module()
    if GENERATED_MODULE.exists() and GENERATED_MODULE.read_text() == text:
        return False
    GENERATED_MODULE.write_text(text)
    return True


# --- comparing a TypedDict with the model it mirrors --------------------------------------------------------------

Shape = Any  # nested tuples and dicts: a field's type with its requiredness


def shape_of_model(model: type[BaseModel]) -> dict[str, Shape]:
    """{field name: (required, type shape)} of a pydantic model, as the TypedDict must spell it."""
    return {name: (True, ("input", "str")) if info.json_schema_extra == PULUMI_INPUT_STR else
            (info.is_required() and not _non_none(info.annotation)[1], _model_type(info.annotation))
            for name, info in model.model_fields.items()}


def _model_type(annotation: Any) -> Shape:
    annotation, _ = _non_none(annotation)
    origin = get_origin(annotation)
    if origin is Literal:
        return ("enum", tuple(sorted(get_args(annotation))))
    if _literal_items(annotation):
        return ("list", "str")
    if origin in (list, dict):
        return (origin.__name__, *(_model_type(a) for a in get_args(annotation)))
    if origin in (Union, types.UnionType):
        merged: dict[str, Shape] = {"mode": (True, ("enum", tuple(sorted(
            get_args(_strip(m.model_fields["mode"].annotation))[0] for m in get_args(annotation)))))}
        for member in get_args(annotation):
            merged.update({k: (False, v[1]) for k, v in shape_of_model(member).items() if k != "mode"})
        return ("object", merged)
    if _is_model(annotation):
        return ("object", shape_of_model(annotation))
    return annotation.__name__


def shape_of_typeddict(typed: type) -> dict[str, Shape]:
    """{field name: (required, type shape)} of a TypedDict, in the terms of `shape_of_model`."""
    hints = typed.__annotations__  # real objects (no postponed annotations), inherited keys included
    return {name: (name in typed.__required_keys__, _typed_type(hint))  # type: ignore[attr-defined]
            for name, hint in hints.items()}


def _typed_type(annotation: Any) -> Shape:
    origin = get_origin(annotation)
    if origin in (typing.NotRequired, typing.Required):
        return _typed_type(get_args(annotation)[0])
    if origin is Union and any(get_origin(a) is Awaitable for a in get_args(annotation)):  # pulumi.Input[T]
        return ("input", next(a.__name__ for a in get_args(annotation) if isinstance(a, type)))
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return ("enum", tuple(sorted(member.value for member in annotation)))
    if origin in (list, dict):
        return (origin.__name__, *(_typed_type(a) for a in get_args(annotation)))
    if typing.is_typeddict(annotation):
        return ("object", shape_of_typeddict(annotation))
    return annotation.__name__


if __name__ == "__main__":
    changed = write_module()
    print(f"{GENERATED_MODULE}: {'rewritten' if changed else 'up to date'}", file=sys.stderr)
