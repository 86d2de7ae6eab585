"""Load actions: each runs until done or cancelled, reports progress and achieved values, stops within 1 s.

Kept import-free: the CPU and traffic worker processes import their modules from here and must start fast.
"""
