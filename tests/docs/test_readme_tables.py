"""The documentation's reference tables are the code's: every prop, property and attribute the code has
is documented, and nothing documented is missing from the code. The construct's and the template's
tables are in README.md; the operations tables and lists (checkov skips, permissions, provider
options) in docs/operations.md."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import re
import textwrap
from pathlib import Path

import pytest

from sc_plan_execution import SERVICE_CATALOG_ACTIONS, ProviderOptions, ProvisionedProductPlanExecution
from sc_plan_execution.scanner_skips import CHECKOV_SKIPS
from sc_plan_provider.properties.resource import KNOWN_PROPERTIES, parse_properties
from sc_plan_provider.properties.spec_properties import SPEC_PROPERTIES
from sc_plan_provider.properties.values import InvalidPropertyError
from sc_plan_provider.servicecatalog.shapes import ChangeSummary, Record
from sc_plan_provider.steps.context import answer_data

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
OPERATIONS = ROOT / "docs" / "operations.md"


def section_text(path: Path, start: str, end: str) -> str:
    """The text of `path` from the first `start` up to the first `end` after it."""
    text = path.read_text(encoding="utf-8")
    begin = text.index(start)
    return text[begin : text.index(end, begin)]


def table_rows(heading: str, path: Path = README) -> list[list[str]]:
    """The cells of the first table under `### heading` in `path`, header and rule left out."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = lines.index(f"### {heading}")
    rows: list[list[str]] = []
    for line in lines[start + 1 :]:
        if line.startswith("#"):
            break
        if not line.startswith("|"):
            if rows:
                break
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if set(cells[0]) <= set("-: ") or cells[0] in {"Prop", "Property", "Attribute", "Check", "Option"}:
            continue
        rows.append(cells)
    assert rows, f"no table under ### {heading} in {path.name}"
    return rows


def table_keys(heading: str, path: Path = README) -> list[str]:
    """First-column entries of the first table under `### heading`, without backticks and arguments."""
    return [key_of(row[0]) for row in table_rows(heading, path)]


def key_of(cell: str) -> str:
    return re.sub(r"\(.*\)", "", cell.strip("`")).split("`")[0].strip()


def plain(text: str) -> str:
    """Text as both README and docstrings may write it: no backticks, one space, ASCII ellipsis."""
    return " ".join(text.replace("`", "").replace("\u2026", "...").split())


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


def param_sections(docstring: str) -> dict[str, str]:
    """`:param name: text` sections of a docstring, continuation lines joined."""
    sections: dict[str, str] = {}
    current: str | None = None
    for line in docstring.splitlines():
        match = re.match(r"\s*:param (\w+):(.*)", line)
        if match:
            current = match.group(1)
            sections[current] = match.group(2)
        elif current is not None and line.startswith((" ", "\t")) and line.strip():
            sections[current] += " " + line.strip()
        else:
            current = None
    return {name: plain(text) for name, text in sections.items()}


def test_every_prop_is_documented_in_the_docstring_with_the_readme_default() -> None:
    """What an IDE shows for the constructor says what the README's table says."""
    sections = param_sections(inspect.getdoc(ProvisionedProductPlanExecution.__init__) or "")
    for prop, _type, default, _meaning in table_rows("Construct props"):
        name = key_of(prop)
        assert name in sections, f":param {name}: is missing from the docstring"
        # Each section ends with its default, as aws-cdk-lib's own docstrings do.
        assert sections[name].rstrip(".").endswith(f"Default: {plain(default)}"), (name, default, sections[name])


def attribute_docstrings(cls: type) -> dict[str, str]:
    """Docstrings of the instance attributes the class body declares (`name: Type` then a string)."""
    body = ast.parse(textwrap.dedent(inspect.getsource(cls))).body[0]
    assert isinstance(body, ast.ClassDef)
    found: dict[str, str] = {}
    for declaration, following in zip(body.body, body.body[1:], strict=False):
        if (
            isinstance(declaration, ast.AnnAssign)
            and isinstance(declaration.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            found[declaration.target.id] = following.value.value
    return found


def test_every_attribute_has_a_docstring_saying_what_the_readme_says() -> None:
    """Each member in the README's attribute table has a docstring (for instance attributes: the
    string after their declaration in the class body) naming every `code` term of its README row."""
    declared = attribute_docstrings(ProvisionedProductPlanExecution)
    for cell, value in table_rows("Construct attributes"):
        name = key_of(cell)
        member = vars(ProvisionedProductPlanExecution).get(name)
        docstring = plain(inspect.getdoc(member) or "") if member is not None else plain(declared.get(name, ""))
        assert docstring, f"{name} has no docstring"
        for term in re.findall(r"`([^`]+)`", value):
            assert plain(term) in docstring, (name, term, docstring)


def test_properties_table_matches_what_the_handler_reads() -> None:
    documented = table_keys("Properties")
    assert documented == list(KNOWN_PROPERTIES)


SPEC = {"ProductId": "prod-abc", "ProvisioningArtifactId": "pa-abc", "ProvisionedProductName": "pp-name"}


# A name property replaces its id; any text is a name, so a bad one is not a string.
NAMED = {"ProductName": "ProductId", "ProvisioningArtifactName": "ProvisioningArtifactId", "PathName": "PathId"}


@pytest.mark.parametrize("name", [n for n in KNOWN_PROPERTIES if n != "PlanId"])
def test_every_documented_property_is_validated_by_name(name: str) -> None:
    # Proves the handler really reads each listed property: a bad value is refused, naming it.
    base = dict(SPEC) if name in SPEC_PROPERTIES else {"PlanId": "plan-abc"}
    base.pop(NAMED.get(name, ""), None)
    bad: object = ["not-a-name"] if name in NAMED else "not-a-valid-value-\u2603"
    with pytest.raises(InvalidPropertyError, match=f"^{name} "):
        parse_properties({**base, name: bad})


def test_attributes_table_matches_the_answer_data() -> None:
    record = Record(
        record_id="rec-abc",
        status="SUCCEEDED",
        record_type="PROVISION_PRODUCT",
        provisioned_product_id="pp-abc",
        errors=(),
        outputs=(("BucketName", "b"),),
        next_outputs_token=None,
        product_id="prod-abc",
        provisioning_artifact_id="pa-abc",
        path_id="lpv3-abc",
    )
    data = answer_data("pp-abc", record, list(record.outputs), ChangeSummary())
    produced = {"Outputs.<OutputKey>" if key.startswith("Outputs.") else key for key in data} | {"Ref"}
    assert set(table_keys("Attributes")) == produced


def test_permissions_section_lists_exactly_the_granted_service_catalog_actions() -> None:
    section = section_text(OPERATIONS, "- **Permissions.**", "- **Portfolio access.**")
    assert set(re.findall(r"`(servicecatalog:\w+)`", section)) == set(SERVICE_CATALOG_ACTIONS)


def test_checkov_skips_table_lists_every_skip_in_the_code() -> None:
    assert sorted(table_keys("checkov skips", OPERATIONS)) == sorted(CHECKOV_SKIPS)


def test_options_table_lists_every_provider_option() -> None:
    section = section_text(OPERATIONS, "## Options platform teams require", "## Failed invocations someone sees")
    first_cells = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    names = {name for cell in first_cells for name in re.findall(r"`(\w+)`", cell)}
    assert names == {f.name for f in dataclasses.fields(ProviderOptions)}
