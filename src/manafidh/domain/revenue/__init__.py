"""Revenue: the double-entry ledger, bank statements and their reconciliation."""
