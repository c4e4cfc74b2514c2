"""CI: the regression gate over recorded sessions and its pytest plugin."""
