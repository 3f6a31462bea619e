import threading
import time

from edgeseg.stream.channels import END, Channel, LatestSlot


def test_channel_keeps_order_and_blocks_when_full():
    ch = Channel(2)
    got = []
    assert ch.put(1) and ch.put(2)
    producer = threading.Thread(target=lambda: ch.put(3))
    producer.start()
    time.sleep(0.05)
    assert producer.is_alive() and len(ch) == 2  # back-pressure: waits for room
    got.append(ch.get())
    producer.join(1)
    ch.close()
    while (item := ch.get()) is not END:
        got.append(item)
    assert got == [1, 2, 3]


def test_abort_wakes_a_blocked_producer_and_discards():
    ch = Channel(1)
    ch.put("a")
    result = []
    producer = threading.Thread(target=lambda: result.append(ch.put("b")))
    producer.start()
    time.sleep(0.02)
    ch.abort()
    producer.join(1)
    assert result == [False] and ch.get() is END


def test_latest_slot_replaces_and_counts_drops():
    drops = []
    slot = LatestSlot(lambda: drops.append(1))
    for i in range(5):
        assert slot.put(i)
    assert slot.get() == 4 and len(drops) == 4
    slot.close()
    assert slot.get() is END
