"""Gates (design.md §8): a run's evidence, statistics, the per-phase SQL and the verdict."""
