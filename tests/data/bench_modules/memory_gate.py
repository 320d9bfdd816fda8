"""Three small benchmarks whose memory changes between a base and a head tree.

tests/integration/test_memory_gate.py copies this file into two trees; the
head copy sets PEAK_SCALE = 3 (each call's temporary buffer triples) and
LEAK_BYTES = 5000 (each call keeps that many bytes for good).
"""

import json

from perfaction import benchmark

PEAK_SCALE = 1
LEAK_BYTES = 0


@benchmark
def encode_frame():
    # a temporary buffer per call: peak memory, nothing retained
    size = 64 * 1024 * PEAK_SCALE

    def encode():
        frame = bytearray(size)
        frame[0] = 1
        return len(frame)
    return encode


@benchmark(latency=False)
def open_session():
    # some work per call; the head copy also keeps a record of every session
    sessions = []

    def open_one():
        checksum = 0
        for i in range(1000):
            checksum ^= i * 31
        if LEAK_BYTES:
            sessions.append(bytes(LEAK_BYTES))
        return checksum
    return open_one


@benchmark
def parse_order():
    # identical in both trees
    text = json.dumps({"id": 7, "side": "buy", "price": 10_000, "legs": list(range(20))})
    return lambda: json.loads(text)
