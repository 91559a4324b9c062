"""The user's own function that bench/compare queues both ways: behind
renderq as a job kind (user_runner.py) and in the FastAPI peer's process pool
(bench/peer/app.py with PEER_FUNCTION=1). It does a fixed amount of work and
returns a few bytes:

  {"mode": "sleep", "seconds": S}  the GPU case: the host's CPU is idle while
                                   the device works, so the work is a sleep;
  {"mode": "cpu", "seconds": S}    a CPU-bound case: S seconds' worth of a
                                   fixed integer loop (calibrated once per
                                   process, so both sides do the same work).

Every call appends "start end" (time.monotonic(), seconds) to the file named
by BENCH_TIMES when set: the gaps between one call's end and the next one's
start are the idle time the queue adds between two jobs.
"""
import json
import os
import time

_LOOPS_PER_SECOND = None


def _spin(loops):
    x = 0
    for i in range(loops):
        x = (x * 31 + i) & 0xFFFFFFFF
    return x


def _calibrate():
    global _LOOPS_PER_SECOND
    if _LOOPS_PER_SECOND is None:
        loops, started = 200_000, time.perf_counter()
        _spin(loops)
        _LOOPS_PER_SECOND = loops / max(time.perf_counter() - started, 1e-6)
    return _LOOPS_PER_SECOND


def work(params):
    """The function itself: params as above -> bytes."""
    started = time.monotonic()
    mode, seconds = params.get("mode", "sleep"), float(params.get("seconds", 0))
    if mode == "sleep":
        if seconds > 0:
            time.sleep(seconds)
        value = 0
    elif mode == "cpu":
        value = _spin(int(_calibrate() * seconds))
    else:
        raise ValueError("unknown mode %r" % mode)
    ended = time.monotonic()
    times = os.environ.get("BENCH_TIMES")
    if times:
        with open(times, "a") as f:
            f.write("%.6f %.6f\n" % (started, ended))
    return json.dumps({"mode": mode, "seconds": seconds, "value": value}).encode()
