"""The multi-channel stack of the seed document (integration-patterns.md): channels, router,
integrator, feature flags, rollout phases, monitoring, fallback and analytics."""
