"""Value: the package's immutable data classes behave as frozen dataclasses do."""

from __future__ import annotations

from typing import ClassVar

import pytest

from sc_plan_provider.core.value import Value, replace


class Point(Value):
    LIMIT: ClassVar[int] = 10  # not a field
    x: int
    y: int = 0
    label: str = ""


def test_fields_positional_keyword_and_defaults() -> None:
    assert Point._fields == ("x", "y", "label")
    point = Point(1, label="a")
    assert (point.x, point.y, point.label) == (1, 0, "a")
    assert Point(x=2, y=3) == Point(2, 3, "")


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((), {}, "missing the argument 'x'"),
        ((1, 2, "a", 4), {}, "at most 3 positional arguments"),
        ((1,), {"x": 2}, "unexpected or repeated argument 'x'"),
        ((1,), {"z": 2}, "unexpected or repeated argument 'z'"),
    ],
)
def test_wrong_arguments_are_refused(args: tuple[object, ...], kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(TypeError, match=message):
        Point(*args, **kwargs)  # type: ignore[arg-type]


def test_equality_hash_and_repr_follow_the_fields_and_the_type() -> None:
    class Other(Value):
        x: int
        y: int = 0
        label: str = ""

    assert Point(1) == Point(1) and hash(Point(1)) == hash(Point(1))
    assert Point(1) != Point(2)
    assert Point(1) != Other(1)  # same fields, another type
    assert Point(1) != (1, 0, "")  # not a tuple
    assert repr(Point(1, label="a")) == "Point(x=1, y=0, label='a')"
    assert len({Point(1), Point(1), Point(2)}) == 2


def test_values_are_immutable_and_replace_copies() -> None:
    point = Point(1)
    with pytest.raises(AttributeError, match="immutable"):
        point.x = 2  # type: ignore[misc]
    with pytest.raises(AttributeError, match="immutable"):
        del point.y
    moved = replace(point, y=5)
    assert (point.y, moved.y, moved.x) == (0, 5, 1)


def test_class_variables_are_not_fields_with_evaluated_annotations_too() -> None:
    """Without postponed annotations (as Python 3.14 evaluates them on request) ClassVar is still
    told apart from the fields."""
    namespace: dict[str, object] = {"Value": Value}
    exec(
        "import typing\nclass Eager(Value):\n    LIMIT: typing.ClassVar[int] = 1\n    x: int\n    y: str = ''\n",
        namespace,
    )
    eager = namespace["Eager"]
    assert eager._fields == ("x", "y")  # type: ignore[attr-defined]
