"""Payments: orders, references, bank payments."""
