"""The run store (design.md §7): run directories, their part files and the cross-run catalog."""
