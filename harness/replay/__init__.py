"""The replay engine: stacks, tick sources, faults, the shadow runner and its watchdog."""
