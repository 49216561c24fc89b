"""`python -m sc_plan_execution review PLAN_ID`: see review.py."""

import sys

from sc_plan_execution.review import main

sys.exit(main(prog="python -m sc_plan_execution"))
