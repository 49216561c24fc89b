"""Time: the injected clock, deadlines, the polling policy and its learned schedule, the waiter, visibility."""
