"""The edge to Service Catalog: its calls and errors, its answers as values with their statuses, and every
wait on it with its settings."""
