"""The steps the routes are made of: gate, claim, execute, wait, report, restore, terminate."""
