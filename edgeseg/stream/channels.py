"""The two hand-offs between pipeline threads, both bounded so memory stays flat.

- `Channel`: a FIFO of fixed capacity; `put` blocks while it is full (back-pressure), so a file
  source is read only as fast as the slowest stage and every frame is kept, in order.
- `LatestSlot`: holds one item; `put` never blocks and replaces an unread item, so a live
  source always hands on its newest frame. Replaced items are counted as dropped.

Both end the same way: the producer calls `close()`, the consumer drains what is left and then
gets `END`. `abort()` ends at once, discarding what is queued (Ctrl-C, a failed stage).
"""
from __future__ import annotations

import threading
from collections import deque
from typing import Callable

END = object()


class Channel:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: deque = deque()
        self._cond = threading.Condition()
        self._closed = self._aborted = False

    def put(self, item) -> bool:
        """Queue `item`, waiting for room; False if the channel was aborted meanwhile."""
        with self._cond:
            while len(self._items) >= self.capacity and not self._aborted:
                self._cond.wait()
            if self._aborted:
                return False
            self._items.append(item)
            self._cond.notify_all()
            return True

    def get(self):
        """The next item, or END once the channel is closed and drained, or aborted."""
        with self._cond:
            while not self._items and not self._closed and not self._aborted:
                self._cond.wait()
            if self._aborted or not self._items:
                return END
            item = self._items.popleft()
            self._cond.notify_all()
            return item

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def abort(self) -> None:
        with self._cond:
            self._aborted = True
            self._items.clear()
            self._cond.notify_all()

    def __len__(self) -> int:
        return len(self._items)


class LatestSlot(Channel):
    """A Channel of capacity one whose `put` replaces instead of waiting."""

    def __init__(self, on_drop: Callable[[], None]) -> None:
        super().__init__(1)
        self._on_drop = on_drop

    def put(self, item) -> bool:
        with self._cond:
            if self._aborted:
                return False
            if self._items:
                self._items.clear()
                self._on_drop()
            self._items.append(item)
            self._cond.notify_all()
            return True
