#!/usr/bin/env python3
"""Closed-loop load generator for bench/leases.sh: C workers, each on its own keep-alive connection,
POST /v1/leases (inline terms) back to back for a warm-up and then a measured window.

Why not wrk: a lease to a receiver that already has a delegation in flight from the same pool is
refused (409 conflict), so a client must never have two leases in flight to one receiver. wrk's Lua
API has no connection identity (request() cannot tell which connection it fills), so it cannot give
each connection its own receivers; here worker k owns receivers k, k+C, k+2C, ... and cycles them,
one request at a time. A lease takes at least one block, so the rate stays in the hundreds per
second at most and this client's own CPU (reported) is small beside the daemon's.

Counted: replies whose answer arrived inside the window. "active" = 201 with "status":"active" (the
only ones the rate counts); "delegating" = 202 (block not seen within confirm_timeout); anything else
by HTTP status and error code. Latency percentiles are over the active ones.

--on-window CMD runs `CMD start` when the window opens and `CMD end` when it closes (synchronously;
leases.sh snapshots CPU ticks, PostgreSQL and /metrics counters there). One JSON object on stdout.
"""
import argparse
import http.client
import json
import os
import resource
import subprocess
import sys
import threading
import time
import uuid


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    k = (len(sorted_values) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


class Worker(threading.Thread):
    def __init__(self, index, args, receivers, stop):
        super().__init__(daemon=True)
        self.index = index
        self.args = args
        self.receivers = receivers
        self.stop = stop
        self.records = []  # (sent_at, answered_at, status, outcome)
        self.error = None

    def run(self):
        host, port = self.args.host, self.args.port
        conn = http.client.HTTPConnection(host, port, timeout=self.args.request_timeout)
        headers = {"Authorization": "Bearer " + self.args.key, "Content-Type": "application/json"}
        i = 0
        while not self.stop.is_set():
            receiver = self.receivers[i % len(self.receivers)]
            i += 1
            body = json.dumps({"receiver": receiver, "energy": self.args.energy,
                               "duration_s": self.args.duration_s,
                               "max_cost_sun": self.args.max_cost_sun})
            if self.args.idempotency:
                headers["Idempotency-Key"] = uuid.uuid4().hex
            sent = time.monotonic()
            try:
                conn.request("POST", "/v1/leases", body, headers)
                reply = conn.getresponse()
                data = reply.read()
                status = reply.status
            except (OSError, http.client.HTTPException) as e:
                self.records.append((sent, time.monotonic(), 0, "transport:" + type(e).__name__))
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=self.args.request_timeout)
                time.sleep(0.05)
                continue
            answered = time.monotonic()
            outcome = str(status)
            try:
                doc = json.loads(data)
                if status in (200, 201, 202) and "status" in doc:
                    outcome = doc["status"]
                elif "error" in doc:
                    outcome = f"{status}:{doc['error'].get('code')}"
                    if not self.error:
                        self.error = doc["error"].get("message", "")[:300]
            except ValueError:
                pass
            self.records.append((sent, answered, status, outcome))
        conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--receivers", required=True, help="file, one address a line")
    ap.add_argument("--concurrency", type=int, required=True)
    ap.add_argument("--warmup", type=float, default=5)
    ap.add_argument("--duration", type=float, default=30)
    ap.add_argument("--energy", type=int, default=32000)
    ap.add_argument("--duration-s", type=int, default=3600)
    ap.add_argument("--max-cost-sun", type=int, default=100_000_000)
    ap.add_argument("--idempotency", type=int, default=1)
    ap.add_argument("--request-timeout", type=float, default=60)
    ap.add_argument("--on-window", default="")
    args = ap.parse_args()
    hostport = args.url.split("://", 1)[1].rstrip("/")
    args.host, port = hostport.rsplit(":", 1)
    args.port = int(port)

    receivers = [line.strip() for line in open(args.receivers) if line.strip()]
    c = args.concurrency
    if len(receivers) < 2 * c:
        sys.exit(f"lease_load: {len(receivers)} receivers for {c} workers; need at least {2 * c}")
    stop = threading.Event()
    workers = [Worker(k, args, receivers[k::c], stop) for k in range(c)]
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    for w in workers:
        w.start()
    time.sleep(args.warmup)

    def hook(label):
        if args.on_window:
            subprocess.run([args.on_window, label], check=True)

    window_start = time.monotonic()
    hook("start")
    time.sleep(args.duration)
    window_end = time.monotonic()
    hook("end")
    stop.set()
    for w in workers:
        w.join(args.request_timeout + 5)
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)

    outcomes = {}
    active_latency = []
    sent_in_window = 0
    for w in workers:
        for sent, answered, status, outcome in w.records:
            if window_start <= sent < window_end:
                sent_in_window += 1
            if not (window_start <= answered < window_end):
                continue
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            if status == 201 and outcome == "active":
                active_latency.append((answered - sent) * 1e3)
    active_latency.sort()
    window = window_end - window_start
    active = len(active_latency)
    all_records = sum(len(w.records) for w in workers)
    first_error = next((w.error for w in workers if w.error), None)
    json.dump({
        "concurrency": c,
        "warmup_s": args.warmup,
        "window_s": window,
        "active": active,
        "leases_per_s": active / window,
        "outcomes": outcomes,
        "sent_in_window": sent_in_window,
        "replies_total": all_records,
        "latency_ms": {"p50": percentile(active_latency, 50), "p90": percentile(active_latency, 90),
                       "p99": percentile(active_latency, 99),
                       "max": active_latency[-1] if active_latency else None,
                       "min": active_latency[0] if active_latency else None},
        "client_cpu_s": (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime),
        "first_error": first_error,
        "idempotency_key": bool(args.idempotency),
        "pid": os.getpid(),
    }, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
