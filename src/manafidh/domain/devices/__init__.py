"""Devices at the crossing: gates now; weighbridges and cameras deepen this package."""
