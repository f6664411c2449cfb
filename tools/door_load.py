#!/usr/bin/env python3
"""Closed-loop load through the local door (127.0.0.1 only): for each concurrency, that many clients send
keyed chat completions back to back for a fixed time; prints a Markdown table of p50/p99 latency and the
status codes seen. The README's load table comes from it:

    .venv/bin/python tools/door_load.py --concurrency 1,2,4,8,16,32 --seconds 20
"""

import argparse
import http.client
import json
import statistics
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def client(key, body, until, latencies, codes, lock):
    while time.monotonic() < until:
        t0 = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", 8000, timeout=120)
        try:
            conn.request(
                "POST",
                "/v1/chat/completions",
                body,
                {"Authorization": "Bearer " + key, "Content-Type": "application/json"},
            )
            resp = conn.getresponse()
            resp.read()
            status = resp.status
        except OSError:
            status = 0  # no answer at all: the thing a client must never see
        finally:
            conn.close()
        with lock:
            latencies.append(time.monotonic() - t0)
            codes[status] += 1


def run(key, concurrency, seconds, max_tokens, model):
    body = json.dumps(
        {"model": model, "max_tokens": max_tokens, "ignore_eos": True, "messages": [{"role": "user", "content": "hi"}]}
    )
    latencies, codes, lock = [], Counter(), threading.Lock()
    until = time.monotonic() + seconds
    threads = [
        threading.Thread(target=client, args=(key, body, until, latencies, codes, lock)) for _ in range(concurrency)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return len(latencies), statistics.median(latencies), p99, codes


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", default="1,2,4,8,16,32")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--max-tokens", type=int, default=16)
    parser.add_argument("--model", default="qwen3-tiny")
    parser.add_argument("--key-file", default=str(ROOT / "inventories" / "local" / ".secrets" / "api_key"))
    args = parser.parse_args()
    key = Path(args.key_file).read_text().strip()
    print("| concurrency | requests | p50 s | p99 s | codes |")
    print("|---|---|---|---|---|")
    for c in [int(x) for x in args.concurrency.split(",")]:
        n, p50, p99, codes = run(key, c, args.seconds, args.max_tokens, args.model)
        print(
            "| %d | %d | %.2f | %.2f | %s |"
            % (c, n, p50, p99, ", ".join("%s: %d" % kv for kv in sorted(codes.items()))),
            flush=True,
        )


if __name__ == "__main__":
    main()
