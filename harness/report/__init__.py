"""The run report: HTML and Markdown with plots and breakdowns, from a run's evidence."""
