"""The edge to Service Catalog: its calls, shapes, statuses and every wait on it."""
