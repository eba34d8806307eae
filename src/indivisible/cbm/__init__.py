"""Confidence-building measures: agreements as rule sets, notifications checked against them."""
