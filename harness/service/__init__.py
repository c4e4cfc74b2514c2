"""`harness serve`: verdicts over HTTP for Argo Rollouts (web metric) and Flagger (webhook)."""
