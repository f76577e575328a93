"""The audit log as a Merkle tree: event entries, tiles in the database, roots and proofs.

entries.py  the canonical entry of an event (its leaf), and the data rules
append.py   appending events and their leaf hashes (tiles, head) in the writer's transaction
tiles.py    reading tiles: roots at any size, inclusion and consistency proofs
verify.py   recomputing everything from the events (the periodic check)
"""
