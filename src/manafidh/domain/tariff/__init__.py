"""Tariff: rates by HS code, effective-dated, and the assessment of duties."""
