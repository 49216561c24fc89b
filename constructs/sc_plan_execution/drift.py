"""`sc-plan-execution drift` (or `python -m sc_plan_execution drift`): is each product still what
its stack declares?

For every resource the provider manages in the account and Region (or the stacks named), one row:
the declared version and parameters (the plan applied last, from the provider's owners table), the
product's current version, parameters (from its own CloudFormation stack; NoEcho values are never
printed) and status, its last provisioning record and who made it, and a verdict (IN_SYNC,
MODIFIED, TAINTED, ERROR, DELETED: sc_plan_provider/steps/drift.py, the same check the provider's
scheduled check runs). Exit 0 when every product is in sync, 1 when any drifted, 2 on an error.
Needs the `[review]` extra (boto3 and the function's Powertools), as the review command does.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sc_plan_provider.steps.drift import DriftRow

__all__ = ["EXIT_CODES", "OWNERS_TABLE_ENV_VAR", "add_parser", "render", "run"]

EXIT_IN_SYNC = 0
EXIT_DRIFTED = 1
EXIT_ERROR = 2
OWNERS_TABLE_ENV_VAR = "SC_PLAN_OWNERS_TABLE"
OWNERS_TABLE_OUTPUT = "OwnersTableName"  # provider_stack.OWNERS_TABLE_OUTPUT_ID (not imported: CDK-free)
INSTALL_HINT = "pip install 'servicecatalog-plan-execution[review]'"
COLUMNS = (
    "Stack",
    "LogicalId",
    "Product",
    "Declared",
    "Current",
    "Status",
    "LastRecord",
    "Verdict",
)
EXIT_CODES = f"""exit codes:
  {EXIT_IN_SYNC}  every product checked is what its stack declares (IN_SYNC)
  {EXIT_DRIFTED}  at least one product drifted (MODIFIED, TAINTED, ERROR or DELETED)
  {EXIT_ERROR}  error: bad arguments, owners table or stack not found, no access, no Region or credentials"""


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    drift = commands.add_parser(
        "drift",
        help="report whether each provisioned product is still what its stack declares (exit 1 if any drifted)",
        description="Compare each provisioned product the provider manages with what its stack declares.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    where = drift.add_mutually_exclusive_group()
    where.add_argument(
        "--owners-table",
        help=f"the provider's owners table (default: ${OWNERS_TABLE_ENV_VAR})",
    )
    where.add_argument(
        "--provider-stack",
        help=f"the shared provider's stack: its {OWNERS_TABLE_OUTPUT} output names the owners table",
    )
    drift.add_argument(
        "--stack",
        action="append",
        default=[],
        metavar="STACK",
        help="only the resources of this stack (name or id; repeatable)",
    )
    drift.add_argument("--json", action="store_true", help="one JSON document instead of the table")
    drift.add_argument("--region", help="the provider's Region (default: the AWS SDK's)")


def run(args: argparse.Namespace) -> int:
    try:
        import boto3
        from botocore.exceptions import BotoCoreError

        from sc_plan_provider.core.telemetry import logger
        from sc_plan_provider.records.managed import managed_products
        from sc_plan_provider.records.owners import DynamoDBOwnerRegistry, OwnershipUnavailableError
        from sc_plan_provider.runtime.clients import client_config
        from sc_plan_provider.servicecatalog.calls import ServiceCatalog, ServiceCatalogError
        from sc_plan_provider.servicecatalog.product_stack import StackUnreadableError, stack_parameters
        from sc_plan_provider.steps.drift import check_product, stack_name
        from sc_plan_provider.waiting.waiter import real_sleep
    except ImportError as error:
        return _error(f"the drift command needs {error.name}: {INSTALL_HINT}")
    logger.setLevel("WARNING")  # the function's JSON log lines would interleave with the report
    try:
        config = client_config()
        cloudformation = boto3.client("cloudformation", region_name=args.region, config=config)
        table = args.owners_table or os.environ.get(OWNERS_TABLE_ENV_VAR)
        if args.provider_stack:
            table = _owners_table_of(cloudformation, args.provider_stack)
        if not table:
            return _error(
                f"name the provider's owners table: --owners-table NAME, ${OWNERS_TABLE_ENV_VAR}, or --provider-stack "
                f"STACK (the shared provider stack's {OWNERS_TABLE_OUTPUT} output)"
            )
        registry = DynamoDBOwnerRegistry(boto3.client("dynamodb", region_name=args.region, config=config), table)
        service_catalog = ServiceCatalog(boto3.client("servicecatalog", region_name=args.region, config=config), None)
        wanted = set(args.stack)
        rows = [
            check_product(managed, service_catalog, lambda arn: stack_parameters(cloudformation, arn), sleep=real_sleep)
            for managed in managed_products(registry)
            if not wanted or managed.owner.stack_id in wanted or stack_name(managed.owner.stack_id) in wanted
        ]
    except _NoTableError as error:
        return _error(str(error))
    except OwnershipUnavailableError as error:
        return _error(f"could not read the owners table {table}: {_one_line(error)}")
    except (ServiceCatalogError, StackUnreadableError) as error:
        return _error(_one_line(error))
    except BotoCoreError as error:
        return _error(f"{_one_line(error)} (set AWS_REGION or --region, and AWS credentials)")
    if args.json:
        document = {"Resources": [row.to_json() for row in rows], "Drifted": sum(row.drifted for row in rows)}
        print(json.dumps(document, indent=2))
    else:
        print(render(rows))
    return EXIT_DRIFTED if any(row.drifted for row in rows) else EXIT_IN_SYNC


class _NoTableError(Exception):
    pass


def _owners_table_of(cloudformation: object, stack: str) -> str:
    from botocore.exceptions import ClientError  # installed: run() imported boto3 first

    try:
        stacks = cloudformation.describe_stacks(StackName=stack)["Stacks"]  # type: ignore[attr-defined]
    except ClientError as error:
        raise _NoTableError(f"provider stack {stack}: {_one_line(error)}") from error
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])} if stacks else {}
    if OWNERS_TABLE_OUTPUT not in outputs:
        raise _NoTableError(f"stack {stack} has no {OWNERS_TABLE_OUTPUT} output: is it the shared provider's stack?")
    return str(outputs[OWNERS_TABLE_OUTPUT])


def render(rows: Sequence[DriftRow]) -> str:
    """The table, each drifted product's reasons and parameters, and a summary line."""
    table = [
        (
            row.stack_name,
            row.logical_resource_id,
            row.provisioned_product_id,
            row.declared_version or "-",
            row.current_version or "-",
            row.status or "-",
            f"{row.last_record_id} ({row.last_record_by})" if row.last_record_id else "-",
            row.verdict,
        )
        for row in rows
    ]
    widths = [max([len(column), *(len(line[i]) for line in table)]) for i, column in enumerate(COLUMNS)]
    lines = [
        "  ".join(column.ljust(width) for column, width in zip(COLUMNS, widths, strict=True)).rstrip(),
        "  ".join("-" * width for width in widths),
        *("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() for line in table),
    ]
    for row in rows:
        lines += [
            "",
            f"{row.stack_name} {row.logical_resource_id} ({row.provisioned_product_id}): {row.verdict}",
            *(f"  - {reason}" for reason in row.reasons),
            f"  declared parameters: {_parameters(row.declared_parameters)}",
            f"  current parameters:  {_parameters(row.current_parameters)}",
        ]
    drifted = sum(row.drifted for row in rows)
    lines += ["", f"{len(rows)} product(s) checked, {drifted} drifted."]
    return "\n".join(lines)


def _parameters(parameters: Sequence[tuple[str, str]]) -> str:
    return ", ".join(f"{key}={value}" for key, value in parameters) or "-"


def _error(message: str) -> int:
    """One line on stderr, never a traceback."""
    print(f"error: {message}", file=sys.stderr)
    return EXIT_ERROR


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())
