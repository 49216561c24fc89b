"""What every part of the function shares: immutable values, the request, the failure that answers it, telemetry."""
