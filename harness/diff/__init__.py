"""The diff (design.md §6): alignment, classification, field differences, accepted-difference rules."""
