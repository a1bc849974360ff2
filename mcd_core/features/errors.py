"""The errors of feature stores: `StoreError` (missing, malformed, not what the reader expects) and
its kind `StoreDamagedError` (a chunk is missing, truncated, or does not decode)."""

from __future__ import annotations


class StoreError(RuntimeError):
    """A feature store is missing, malformed, or not what the reader expects."""


class StoreDamagedError(StoreError):
    """A store's chunk is missing, truncated, garbled or fails its checksum; the message names the
    store, the array, the chunk key and the videos the chunk holds."""

    def __init__(self, message: str):
        super().__init__(_own_line(message, type(self).__name__))


def _own_line(message: str, name: str) -> str:
    """torch's DataLoader re-raises a worker's error as the same class with the worker's whole
    traceback as the message; keep our line, its last, so the CLI still prints one line."""
    if "\nOriginal Traceback" not in message:
        return message
    last = [line for line in message.splitlines() if line.strip()][-1]
    head, sep, rest = last.partition(f"{name}: ")
    return rest if sep else last
