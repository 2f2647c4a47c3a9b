"""Risk: lane selection rules, random control, (later) learned scores."""
