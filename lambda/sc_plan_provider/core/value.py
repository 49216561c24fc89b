"""Immutable value objects, declared like dataclasses, that cost a cold start almost nothing.

Every class of this package that only carries data (a plan, a record, the validated properties)
derives from `Value` and declares its fields as annotations, with defaults where they have one:

    class Record(Value):
        record_id: str
        status: str = ""

Why not the standard library: defining a frozen dataclass costs ~1.2 ms (it generates and compiles
its methods) and a typing.NamedTuple ~1.4 M instructions (it compiles every string annotation);
for this package's two dozen classes that was about 1 % of the cold-start floor `make bench`
compares a first request with. `Value` reads the annotations without evaluating them. Type
checkers see the fields through `dataclass_transform` (keyword or positional arguments, defaults,
frozen), as for a dataclass.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar, TypeVar, dataclass_transform

V = TypeVar("V", bound="Value")


@dataclass_transform(frozen_default=True)
class Value:
    """Fields in declaration order; equal when the type and every field are equal; hashable when
    the fields are; never changed after construction (`replace(value, ...)` makes a changed copy)."""

    _fields: ClassVar[tuple[str, ...]] = ()
    _defaults: ClassVar[dict[str, Any]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # The class's own annotations, as written (strings under `from __future__ import annotations`);
        # inspect is loaded by botocore and Powertools already.
        annotations = inspect.get_annotations(cls)
        own = [name for name, annotation in annotations.items() if not _is_class_var(annotation)]
        cls._fields = (*cls._fields, *own)
        cls._defaults = {**cls._defaults, **{name: cls.__dict__[name] for name in own if name in cls.__dict__}}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        name = type(self).__name__
        if len(args) > len(self._fields):
            raise TypeError(f"{name} takes at most {len(self._fields)} positional arguments, got {len(args)}")
        values = dict(zip(self._fields, args, strict=False))
        for field, value in kwargs.items():
            if field not in self._fields or field in values:
                raise TypeError(f"{name} got an unexpected or repeated argument {field!r}")
            values[field] = value
        for field in self._fields:
            if field in values:
                object.__setattr__(self, field, values[field])
            elif field not in self._defaults:
                raise TypeError(f"{name} is missing the argument {field!r}")

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, field) for field in self._fields)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self._values() == other._values()

    def __hash__(self) -> int:
        return hash((type(self), self._values()))

    def __repr__(self) -> str:
        fields = ", ".join(f"{field}={getattr(self, field)!r}" for field in self._fields)
        return f"{type(self).__name__}({fields})"

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable: use value.replace(..., {name}=...)")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")


def _is_class_var(annotation: object) -> bool:
    """`ClassVar[...]` as a string (postponed annotations) or as the typing object itself."""
    text = annotation if isinstance(annotation, str) else repr(annotation)
    return text.removeprefix("typing.").startswith("ClassVar")


def replace(value: V, **changes: Any) -> V:
    """A copy of `value` with some fields changed (as dataclasses.replace)."""
    return type(value)(**{field: getattr(value, field) for field in value._fields} | changes)
