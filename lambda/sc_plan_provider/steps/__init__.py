"""The steps the routes are made of: the change gate, the deputy's claim, applying a plan (execute once, wait,
answer), report, restore, terminate; and the context every step shares."""
