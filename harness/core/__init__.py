"""The harness's base: errors, the Tick and problem values, identities, the one atomic write."""
