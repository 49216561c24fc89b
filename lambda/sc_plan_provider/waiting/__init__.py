"""Time: deadlines, the polling policy and its learned schedule, the one waiter, and the visibility rule."""
