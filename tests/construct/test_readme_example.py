"""The README's first CDK example, run as a user copies it: what it synthesizes is what the README
says it does (learned polling stays on: copying the example must not turn it off)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk.assertions import Template

from sc_plan_execution.plan_execution import RESOURCE_TYPE

README = Path(__file__).resolve().parents[2] / "README.md"
PORTFOLIO_ARN = "arn:aws:catalog:us-east-1:123456789012:portfolio/port-abcdefghijklm"


def first_cdk_example() -> str:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Getting started with CDK") :]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None, "the Getting started section has no python example"
    return match.group(1)


def test_the_readme_example_synthesizes_with_learned_polling_on(cdk_outdir: Path, example: Any) -> None:
    namespace: dict[str, Any] = {"portfolio_arn": PORTFOLIO_ARN}
    exec(compile(first_cdk_example(), str(README), "exec"), namespace)
    app = cdk.App(outdir=str(cdk_outdir))
    stack = namespace["MyStack"](app, "ReadmeExample")
    (resource,) = Template.from_stack(stack).find_resources(RESOURCE_TYPE).values()
    properties = resource["Properties"]
    assert properties["PlanId"] == "plan-abc123"
    # No Polling* property and no LearnedPolling "false": the handler's default, learned polling.
    assert not [name for name in properties if name.startswith("Polling") or name == "LearnedPolling"]
    assert str(properties["ServiceTimeout"]) == "3600"
