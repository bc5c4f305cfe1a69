"""Tamper-evident evidence ledger: Merkle tree proofs, signed checkpoints and offline-verifiable exports."""
