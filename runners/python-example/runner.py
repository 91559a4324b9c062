"""The `python-example` kind's runner: reaction_diffusion.py's function queued
by renderq, with progress, a preview, checkpoints, resume and cancel.

This is the whole of what a user writes around a function of their own
(docs/kinds.md walks through it); kinds.d/python-example.json runs it as
`/usr/bin/python3 {runners_dir}/python-example/runner.py`.
"""
import os
import sys
import time

try:
    import renderq_runner  # installed with renderq for Debian's python3
except ImportError:  # a checkout: the helper lies in runners/python/
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
    import renderq_runner

import reaction_diffusion as rd

STEPS_PER_SLICE = 50        # between looks at the cancel flag: a few tens of milliseconds
PREVIEW_SECONDS = 1.0
CHECKPOINT_SECONDS = 2.0    # a lost attempt redoes at most this much work
MARKS = 4                   # also a checkpoint (and a preview) at each quarter of the
                            # steps, so a job over in under 2 s has them too


def handle(job):
    try:
        params = rd.Params.from_input(job.input)
    except (TypeError, ValueError) as e:
        job.fail("invalid_input", str(e))  # no retry: the same input fails again
    sim = None
    saved = job.resume()
    if saved is not None:
        try:
            sim = rd.Simulation.from_state(params, saved)
            print("job %s: resuming at step %d of %d" % (job.id, sim.step, params.steps))
        except ValueError as e:
            print("job %s: checkpoint ignored (%s); starting over" % (job.id, e))
    if sim is None:
        sim = rd.Simulation(params)
    last_preview = last_checkpoint = time.monotonic()
    mark = max(1, params.steps // MARKS)
    next_mark = (sim.step // mark + 1) * mark
    while not sim.done:
        if job.canceled:
            return None
        sim.advance(STEPS_PER_SLICE)
        job.progress(sim.step / params.steps)
        now = time.monotonic()
        marked = sim.step >= next_mark
        if marked:
            next_mark = (sim.step // mark + 1) * mark
        if marked or now - last_preview >= PREVIEW_SECONDS:
            job.preview(sim.png(max_size=256))
            last_preview = now
        if (marked or now - last_checkpoint >= CHECKPOINT_SECONDS) and not sim.done:
            job.checkpoint(sim.state_bytes())
            last_checkpoint = time.monotonic()
    return sim.png()


if __name__ == "__main__":
    renderq_runner.serve(handle)
