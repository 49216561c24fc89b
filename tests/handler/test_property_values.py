"""The id, name and ARN checks accept exactly what botocore's Service Catalog model accepts.

The checks are character sets (cheaper at cold start than compiled patterns), so they are compared
here with the model's own patterns and length limits over edge cases and seeded random strings.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

import botocore.session
import pytest

from sc_plan_provider.properties.spec_checks import is_arn, is_name
from sc_plan_provider.properties.values import is_id

MODEL = botocore.session.get_session().get_service_model("servicecatalog")
ALPHABET = "aZ09_-.:/@ \n\u00e9\u0661"
EDGES = [
    "",
    "a",
    "-",
    "_x",
    ".x",
    "x.",
    "x" * 100,
    "x" * 101,
    "x" * 128,
    "x" * 129,
    "pp-abc\n",
    "\u0661\u0662",  # Unicode digits: isalnum() and isdigit() are true, the patterns' [0-9] is not
    "arn:aws:sns:eu-west-1:123456789012:topic",
    "arn:aws:sns:::x",
    "arn::sns:eu-west-1:123456789012:topic",
    "arn:aws:sns:eu-west-1:123456789012:/topic",
    "arn:aws:sns:eu-west-1:123456789012:",
    "arn:aws:sns:eu-west-1:123456789012:a\nb",
    "arn:aws:sns:eu-west-1:123456789012:\nb",
    "arn:AWS:sns:eu-west-1:123456789012:topic",
    "arn:aws:sns:eu-west-1:123456789012:topic:with:colons",
    "arn:aws:sns:eu-west-1:123456789012:" + "t" * 1024,
    "arn:aws:sns:eu-west-1:123456789012:" + "t" * 1025,
    "arn:" + "a" * 64 + ":sns:r:1:t",
    "arn:" + ":".join(["a" * 63] * 4) + ":" + "t" * 1000,  # each part within its limit, the whole too long
]


def model_accepts(shape_name: str) -> Callable[[str], bool]:
    """What botocore's model says about a string: its pattern must match the whole value (as
    Service Catalog applies it) within the shape's length limits."""
    metadata = MODEL.shape_for(shape_name).metadata
    pattern = re.compile(str(metadata["pattern"]).lstrip("^"))
    lengths = range(int(metadata.get("min", 0)), int(metadata.get("max", 10_000)) + 1)
    return lambda value: len(value) in lengths and pattern.fullmatch(value) is not None


def corpus(seed: int, prefix: str = "") -> list[str]:
    rng = random.Random(seed)
    generated = [prefix + "".join(rng.choices(ALPHABET, k=rng.randint(0, 12))) for _ in range(3000)]
    return EDGES + generated


@pytest.mark.parametrize(
    ("check", "shape", "prefix", "max_chars"),
    [
        (is_id, "Id", "", 100),
        (is_name, "ProvisionedProductName", "", 128),
        (is_arn, "NotificationArn", "arn:aws:sns:eu-west-1:1:", None),
        (is_arn, "NotificationArn", "arn:", None),
    ],
)
def test_checks_agree_with_the_service_model(
    check: Callable[[object], bool], shape: str, prefix: str, max_chars: int | None
) -> None:
    accepts = model_accepts(shape)
    values = corpus(len(prefix), prefix)
    disagreements = [value for value in values if check(value) != accepts(value)]
    assert disagreements == []
    assert any(check(value) for value in values) and not all(check(value) for value in values)
    if max_chars is not None:
        assert check("a" * max_chars) and not check("a" * (max_chars + 1))


@pytest.mark.parametrize("check", [is_id, is_name, is_arn])
def test_non_strings_are_rejected(check: Callable[[object], bool]) -> None:
    assert not any(check(value) for value in (None, 42, ["plan-1"], {"Ref": "Plan"}))
