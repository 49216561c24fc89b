"""Every relative link of README.md and docs/*.md leads somewhere: the file exists and the anchor is a
heading of it, under GitHub's rule for heading anchors. README.md stays the user's page: at most 600
lines, linking every page of docs/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = [README, *sorted(DOCS.glob("*.md"))]

FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
CODE_SPAN = re.compile(r"`[^`]*`")
# [text](target) and ![alt](target); an optional "title" after the target.
LINK = re.compile(r"\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
EXTERNAL = ("http:", "https:", "mailto:")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase; every character but letters, digits, `-`, `_` and
    spaces dropped (backticks, parentheses, dots, commas, colons, slashes, apostrophes, arrows...);
    each space a `-`."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) of every line outside fenced code blocks."""
    lines: list[tuple[int, str]] = []
    fenced = False
    for number, line in enumerate(text.splitlines(), start=1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append((number, line))
    return lines


def anchors(text: str) -> list[str]:
    """The anchors of a Markdown file's headings, in order; a repeated heading gets -1, -2, ..."""
    found: list[str] = []
    seen: dict[str, int] = {}
    for _number, line in prose_lines(text):
        match = HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.append(base if count == 0 else f"{base}-{count}")
    return found


def links(text: str) -> list[tuple[int, str]]:
    """(line number, target) of every link outside fenced code blocks and code spans; a link's text
    may run over several lines."""
    lines = text.splitlines()
    prose = {number: CODE_SPAN.sub("", line) for number, line in prose_lines(text)}
    joined = "\n".join(prose.get(number, "") for number in range(1, len(lines) + 1))
    return [(joined.count("\n", 0, match.end()) + 1, match.group(1)) for match in LINK.finditer(joined)]


def broken_links(page: Path) -> list[str]:
    problems: list[str] = []
    for number, target in links(page.read_text(encoding="utf-8")):
        if target.startswith(EXTERNAL):
            continue
        file_part, _, anchor = target.partition("#")
        linked = (page.parent / file_part).resolve() if file_part else page
        where = f"{page.relative_to(ROOT)}:{number}: {target}"
        if not linked.exists():
            problems.append(f"{where}: no file {file_part}")
        elif anchor and linked.suffix != ".md":
            problems.append(f"{where}: an anchor into a file that is not Markdown")
        elif anchor and anchor not in anchors(linked.read_text(encoding="utf-8")):
            problems.append(f"{where}: no heading #{anchor} in {linked.relative_to(ROOT)}")
    return problems


@pytest.mark.parametrize(
    ("heading", "expected"),
    [
        ("Fault sweep (`make sweep`)", "fault-sweep-make-sweep"),
        (
            "The real service's stricter rules (Service Catalog profiles)",
            "the-real-services-stricter-rules-service-catalog-profiles",
        ),
        ("Spec mode: the stack plans the product", "spec-mode-the-stack-plans-the-product"),
        ("Permissions, portfolio access and launch constraints", "permissions-portfolio-access-and-launch-constraints"),
        ("Shared provider (raw CloudFormation)", "shared-provider-raw-cloudformation"),
        ("The whole sweep's matrix", "the-whole-sweeps-matrix"),
        ("Benchmark (`make bench`)", "benchmark-make-bench"),
        (
            "IAM: the function may do only what its synthesized role grants",
            "iam-the-function-may-do-only-what-its-synthesized-role-grants",
        ),
        ("Deleting: keeping resources or ignoring errors", "deleting-keeping-resources-or-ignoring-errors"),
        ("NoEcho", "noecho"),
        ("Create → Update / Delete, v1.2", "create--update--delete-v12"),
        ("snake_case and kebab-case", "snake_case-and-kebab-case"),
    ],
)
def test_slug_follows_githubs_rule(heading: str, expected: str) -> None:
    assert slug(heading) == expected


def test_repeated_headings_get_numbered_anchors_and_fenced_lines_are_not_headings() -> None:
    text = "# Title\n\n## Notes\n\n```sh\n# Notes\n```\n\n### Notes\n\n## Notes #\n"
    assert anchors(text) == ["title", "notes", "notes-1", "notes-2"]


def test_links_in_fenced_code_and_code_spans_are_not_links() -> None:
    text = '[a](a.md#x) `[b](b.md)`\n\n```md\n[c](c.md)\n```\n![d](d.png "D") [e](https://example.com)\n[f\ng](f.md)\n'
    assert links(text) == [(1, "a.md#x"), (6, "d.png"), (6, "https://example.com"), (8, "f.md")]


def test_the_docs_headings_have_the_anchors_the_readme_uses() -> None:
    assert "fault-sweep-make-sweep" in anchors((DOCS / "fault-sweep.md").read_text(encoding="utf-8"))
    rules = anchors((DOCS / "emulator-rules.md").read_text(encoding="utf-8"))
    assert "the-real-services-stricter-rules-service-catalog-profiles" in rules


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path) -> None:
    assert broken_links(page) == []


def test_readme_has_at_most_600_lines() -> None:
    lines = README.read_text(encoding="utf-8").count("\n")
    assert lines <= 600, f"README.md has {lines} lines: move the detail into docs/"


def test_the_readme_links_every_docs_page_and_each_links_back() -> None:
    linked = {
        (README.parent / target.partition("#")[0]).resolve()
        for _number, target in links(README.read_text(encoding="utf-8"))
        if not target.startswith(EXTERNAL)
    }
    pages = sorted(DOCS.glob("*.md"))
    assert pages
    assert [page.name for page in pages if page.resolve() not in linked] == []
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert text.startswith("# "), f"{page.name} does not start with its title"
        assert "](../README.md" in text, f"{page.name} does not link back to the README"


def cited_pages() -> list[tuple[str, str, str]]:
    """(source file, docs page, anchor) of every `docs/<page>.md#<anchor>` the code cites."""
    found = []
    for folder in ("lambda", "constructs", "local_cloud", "bench"):
        for source in sorted((ROOT / folder).rglob("*.py")):
            for page, anchor in re.findall(r"docs/([\w-]+\.md)(?:#([\w-]+))?", source.read_text(encoding="utf-8")):
                found.append((str(source.relative_to(ROOT)), page, anchor))
    return found


def test_every_docs_page_and_section_the_code_cites_exists() -> None:
    citations = cited_pages()
    assert citations, "the code cites no docs page"
    missing = [
        f"{source}: docs/{page}#{anchor}"
        for source, page, anchor in citations
        if not (DOCS / page).is_file() or (anchor and anchor not in anchors((DOCS / page).read_text(encoding="utf-8")))
    ]
    assert not missing


def test_the_changelog_names_the_packages_version() -> None:
    from sc_plan_provider import __version__

    versions = re.findall(r"^## (\d+\.\d+\.\d+) - \d{4}-\d{2}-\d{2}$", (ROOT / "CHANGELOG.md").read_text(), re.M)
    assert versions and versions[0] == __version__
    assert (ROOT / "LICENSE").read_text().lstrip().startswith("Apache License")


def test_the_readme_takes_a_user_to_a_deployment_before_any_maintainer_material() -> None:
    """A new user reads what a first deployment needs, the install, the example and the deploy
    before anything about running this repository's own suites."""
    text = README.read_text(encoding="utf-8")
    first_user = text.index("## Getting started with CDK")
    prerequisites = text.index("**Before the first deployment**")
    example = text.index("```python", first_user)
    deploy = text.index("**Deploy**")
    maintainer = min(text.index(marker) for marker in ("make test", "make demo", "make bench"))
    assert first_user < prerequisites < example < deploy < maintainer
    assert "portfolio" in text[prerequisites:example] and "launch constraint" in text[prerequisites:example]
    assert "CREATE_SUCCESS" in text[prerequisites:example] and "package index" in text[prerequisites:example]
