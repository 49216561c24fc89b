"""`make bench`: what the provider costs and how quickly it notices a finished provisioning.

A benchmark, not a test: it measures side by side in one run (polling policies on the full local
cloud, handler cold start against bare boto3, 50 concurrent resources under throttling), prints
tables and PASS/MISS per goal, and writes `.bench/results.json`. It exits non-zero only when a
measurement could not be made.
"""
