"""What every part of the function shares: immutable values, the request (and the failure that answers it),
telemetry."""
