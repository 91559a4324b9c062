"""user_function.work() as a renderq runner: the few lines a user writes
(docs/kinds.md "Write a kind in five minutes"). bench/compare writes the kind
file that runs it."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
try:
    import renderq_runner
except ImportError:  # a checkout: the helper lies in runners/python/
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                    "runners", "python"))
    import renderq_runner

import user_function


def handle(job):
    return user_function.work(job.input)


if __name__ == "__main__":
    renderq_runner.serve(handle, user_function._calibrate)
