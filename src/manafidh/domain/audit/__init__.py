"""Audit: the Merkle log (RFC 9162), tree heads and proofs."""
