"""Simulated traffic at the crossings, driven through the service layer.

``traffic`` plans truck arrivals from a seed (pure, no database); ``runner`` plays the plan
through the use cases with a clock that moves along the timeline and keeps the ground truth of
every declaration apart from the operational data.
"""
