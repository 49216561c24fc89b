"""Time: deadlines, the polling policy and its learned schedule, the one waiter (and the one real sleep), and the
rule for when "not found" is believed."""
