"""The README's reference tables are the code's: every prop, property and attribute the code has is
documented, and nothing documented is missing from the code."""

from __future__ import annotations

import dataclasses
import inspect
import re
from pathlib import Path

import pytest

from sc_plan_execution import SERVICE_CATALOG_ACTIONS, ProviderOptions, ProvisionedProductPlanExecution
from sc_plan_execution.scanner_skips import CHECKOV_SKIPS
from sc_plan_provider.change_gate import ChangeSummary
from sc_plan_provider.product_spec import SPEC_PROPERTIES
from sc_plan_provider.properties import KNOWN_PROPERTIES, parse_properties
from sc_plan_provider.property_values import InvalidPropertyError
from sc_plan_provider.response import answer_data

README = Path(__file__).resolve().parents[2] / "README.md"


def table_keys(heading: str) -> list[str]:
    """First-column entries of the first table under `### heading`, without backticks and arguments."""
    lines = README.read_text(encoding="utf-8").splitlines()
    start = lines.index(f"### {heading}")
    keys: list[str] = []
    for line in lines[start + 1 :]:
        if line.startswith("#"):
            break
        if not line.startswith("|"):
            if keys:
                break
            continue
        cell = line.split("|")[1].strip()
        if set(cell) <= set("-: ") or cell in {"Prop", "Property", "Attribute", "Check", "Option"}:
            continue
        keys.append(re.sub(r"\(.*\)", "", cell.strip("`")).split("`")[0].strip())
    assert keys, f"no table under ### {heading}"
    return keys


def test_construct_props_table_matches_the_signature() -> None:
    signature = inspect.signature(ProvisionedProductPlanExecution.__init__)
    props = [name for name, p in signature.parameters.items() if p.kind is inspect.Parameter.KEYWORD_ONLY]
    assert table_keys("Construct props") == props


def test_construct_attributes_table_matches_the_public_members() -> None:
    construct = ProvisionedProductPlanExecution
    members = {name for name in vars(construct) if not name.startswith("_")}
    init = inspect.getsource(construct.__init__)
    members |= set(re.findall(r"self\.([a-z]\w*) = ", init))
    assert set(table_keys("Construct attributes")) == members


def test_properties_table_matches_what_the_handler_reads() -> None:
    documented = table_keys("Properties")
    assert documented == list(KNOWN_PROPERTIES)


SPEC = {"ProductId": "prod-abc", "ProvisioningArtifactId": "pa-abc", "ProvisionedProductName": "pp-name"}


@pytest.mark.parametrize("name", [n for n in KNOWN_PROPERTIES if n != "PlanId"])
def test_every_documented_property_is_validated_by_name(name: str) -> None:
    # Proves the handler really reads each listed property: a bad value is refused, naming it.
    base = dict(SPEC) if name in SPEC_PROPERTIES else {"PlanId": "plan-abc"}
    with pytest.raises(InvalidPropertyError, match=f"^{name} "):
        parse_properties({**base, name: "not-a-valid-value-\u2603"})


def test_attributes_table_matches_the_answer_data() -> None:
    data = answer_data("pp-abc", "rec-abc", [("BucketName", "b")], ChangeSummary().as_data())
    produced = {"Outputs.<OutputKey>" if key.startswith("Outputs.") else key for key in data} | {"Ref"}
    assert set(table_keys("Attributes")) == produced


def test_permissions_section_lists_exactly_the_granted_service_catalog_actions() -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("- **Permissions.**") : text.index("- **Portfolio access.**")]
    assert set(re.findall(r"`(servicecatalog:\w+)`", section)) == set(SERVICE_CATALOG_ACTIONS)


def test_checkov_skips_table_lists_every_skip_in_the_code() -> None:
    assert sorted(table_keys("checkov skips")) == sorted(CHECKOV_SKIPS)


def test_options_table_lists_every_provider_option() -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Options platform teams require") : text.index("## Failed invocations someone sees")]
    first_cells = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    names = {name for cell in first_cells for name in re.findall(r"`(\w+)`", cell)}
    assert names == {f.name for f in dataclasses.fields(ProviderOptions)}
