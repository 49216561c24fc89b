"""`sc-plan-execution review PLAN_ID` (or `python -m sc_plan_execution review PLAN_ID`): a plan's
resource changes and the gate's decision.

The step a pipeline runs before a manual approval: it prints every resource change of the plan (all
pages) as a table, what the change gate would decide for the given allow flags, and exits non-zero
when the deployment would refuse the plan. It uses the function's own Service Catalog edge and
`change_gate`, so the review and the deployment cannot disagree.

It needs boto3 (and the function's Powertools, which the edge traces with) at run time, which the
construct library does not depend on: install `servicecatalog-plan-execution[review]`. The same
command line has `drift` (drift.py), with the same needs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sc_plan_execution import drift
from sc_plan_provider.properties.resource import ACCEPT_LANGUAGES, ALLOW_REMOVAL, ALLOW_REPLACEMENT
from sc_plan_provider.properties.values import is_id
from sc_plan_provider.steps.gate import GateDecision, RefusedChange, decide

if TYPE_CHECKING:
    from sc_plan_provider.servicecatalog.shapes import Plan, ResourceChange

EXIT_ALLOWED = 0
EXIT_REFUSED = 1
EXIT_ERROR = 2
INSTALL_HINT = "pip install 'servicecatalog-plan-execution[review]'"
COLUMNS = ("Action", "LogicalResourceId", "ResourceType", "Replacement", "Gate")
SCRIPT = "sc-plan-execution"  # the console script (pyproject.toml [project.scripts])
EXIT_CODES = f"""exit codes (review):
  {EXIT_ALLOWED}  the change gate allows the plan: the deployment would execute it
  {EXIT_REFUSED}  the change gate refuses the plan: the deployment would execute nothing
  {EXIT_ERROR}  error: bad arguments, plan not found or not reviewable, no access, no Region or credentials"""


def main(argv: Sequence[str] | None = None, prog: str = SCRIPT) -> int:
    """The command line; `prog` is how the user ran it (`python -m sc_plan_execution` passes its own)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Review a Service Catalog provisioned product plan before deploying it, or check\n"
        "whether the products the provider manages are still what their stacks declare.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    review = commands.add_parser(
        "review",
        help="print the plan's resource changes and the change gate's decision (exit 1 if refused)",
        description="Print the plan's resource changes (every page) and what the change gate would decide\n"
        "for the given allow flags.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    review.add_argument("plan_id", metavar="PLAN_ID", help="the provisioned product plan to review (plan-...)")
    review.add_argument("--allow-replacement", action="store_true", help=f'as {ALLOW_REPLACEMENT}: "true"')
    review.add_argument("--allow-removal", action="store_true", help=f'as {ALLOW_REMOVAL}: "true"')
    review.add_argument("--region", help="the plan's Region (default: the AWS SDK's)")
    review.add_argument("--accept-language", choices=ACCEPT_LANGUAGES, help="language of Service Catalog's messages")
    drift.add_parser(commands)
    args = parser.parse_args(argv)
    if args.command == "drift":
        return drift.run(args)
    if not is_id(args.plan_id):
        return _error(f"{args.plan_id!r} is not a plan id (1-100 of letters, digits, '_' and '-')")
    return _review(args.plan_id, args.allow_replacement, args.allow_removal, args.region, args.accept_language)


def _review(
    plan_id: str, allow_replacement: bool, allow_removal: bool, region: str | None, accept_language: str | None
) -> int:
    try:
        import boto3
        from botocore.exceptions import BotoCoreError

        from sc_plan_provider.core.telemetry import logger
        from sc_plan_provider.runtime.clients import client_config
        from sc_plan_provider.servicecatalog.calls import NotFoundError, ServiceCatalog, ServiceCatalogError
        from sc_plan_provider.servicecatalog.wait import REVIEWED_PLAN_VISIBILITY, read_after_write
        from sc_plan_provider.waiting.waiter import real_sleep
    except ImportError as error:
        return _error(f"the review command needs {error.name}: {INSTALL_HINT}")
    logger.setLevel("WARNING")  # the function's JSON log lines would interleave with the table
    try:
        client = boto3.client("servicecatalog", region_name=region, config=client_config())
        service_catalog = ServiceCatalog(client, accept_language)
        # A plan the pipeline just created may not be visible for a moment (eventual consistency).
        plan = read_after_write(
            lambda: service_catalog.describe_plan(plan_id), sleep=real_sleep, rule=REVIEWED_PLAN_VISIBILITY
        )
        if plan.status in ("CREATE_IN_PROGRESS", "CREATE_FAILED"):
            detail = f": {plan.status_message}" if plan.status_message else ""
            return _error(f"plan {plan_id} is {plan.status}{detail}; it has no resource changes to review")
        changes = service_catalog.resource_changes(plan)
    except NotFoundError:
        return _error(f"plan {plan_id} was not found (check the id, the Region and your portfolio access)")
    except ServiceCatalogError as error:
        if error.code in ("AccessDeniedException", "AccessDenied", "UnauthorizedOperation"):
            return _error(
                f"access denied reading plan {plan_id}: the caller needs servicecatalog:DescribeProvisionedProductPlan "
                f"({_one_line(error)})"
            )
        return _error(_one_line(error))
    except BotoCoreError as error:
        # No Region, no credentials, no connection: botocore's message says which, in one line.
        return _error(f"{_one_line(error)} (set AWS_REGION or --region, and AWS credentials)")
    decision = decide(changes, allow_replacement=allow_replacement, allow_removal=allow_removal)
    print(render(plan, changes, decision))
    return EXIT_ALLOWED if decision.allowed else EXIT_REFUSED


def _error(message: str) -> int:
    """One line on stderr, never a traceback: the pipeline log shows why the step stopped."""
    print(f"error: {message}", file=sys.stderr)
    return EXIT_ERROR


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())


def render(plan: Plan, changes: Sequence[ResourceChange], decision: GateDecision) -> str:
    """The table, the summary and the verdict, as a pipeline log shows them."""
    # decide() keeps the very objects it was given, so identity finds each change's verdict.
    refused: dict[int, RefusedChange] = {id(entry.change): entry for entry in decision.refused}
    rows = [
        (
            change.action,
            change.logical_resource_id,
            change.resource_type,
            change.replacement or "-",
            _verdict(refused.get(id(change))),
        )
        for change in changes
    ]
    widths = [max(len(column), *(len(row[i]) for row in rows)) for i, column in enumerate(COLUMNS)]
    lines = [
        f"Plan {plan.plan_id} ({plan.status}) for provisioned product {plan.provisioned_product_id or '-'}: "
        f"{len(changes)} resource change(s)",
        "",
        "  ".join(column.ljust(width) for column, width in zip(COLUMNS, widths, strict=True)).rstrip(),
        "  ".join("-" * width for width in widths),
        *("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows),
        "",
    ]
    summary = decision.summary
    lines.append(
        f"Summary: {summary.add} to add, {summary.modify} to modify ({summary.replace} replaced or maybe replaced), "
        f"{summary.remove} to remove"
    )
    if decision.allowed:
        lines.append("Change gate: ALLOWED - the deployment would execute this plan.")
    else:
        flags = " and ".join(f'{flag}: "true"' for flag in decision.needed_flags)
        lines.append(
            f"Change gate: REFUSED - {len(decision.refused)} change(s) need {flags} "
            "(construct props allow_replacement/allow_removal); the deployment would execute nothing."
        )
    return "\n".join(lines)


def _verdict(refused: RefusedChange | None) -> str:
    return "ok" if refused is None else f"REFUSED: {refused.outcome} (needs {refused.allowed_by})"


if __name__ == "__main__":
    sys.exit(main(prog="python -m sc_plan_execution.review"))
