"""The custom resource's properties, validated before any call (the construct runs the same checks at synth time)."""
