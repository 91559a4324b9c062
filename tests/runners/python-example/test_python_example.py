"""runners/python-example: the `python-example` kind's runner against the
worker's side of the protocol (tests/runners/runner_harness.py): its output is
the bytes a direct call of its function gives, also after the runner was
killed mid-job and a new one resumed from the checkpoint; cancel; previews.

Skips (exit 77) where Debian's python3-numpy is missing.
"""
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import runner_harness as h  # noqa: E402

EXAMPLE_DIR = h.RUNNERS_DIR / "python-example"
# A few seconds of work, so that the runner saves a checkpoint on the way
# (every 2 s) and a cancel finds it running.
JOB_INPUT = {"size": 128, "steps": 16000, "seed": 7}


def numpy_missing():
    return subprocess.run([h.PYTHON, "-c", "import numpy"], capture_output=True).returncode != 0


def direct_render(job_input):
    """The example's function called directly, as its author would."""
    code = ("import json, sys; import reaction_diffusion as rd; "
            "sys.stdout.buffer.write(rd.render(json.loads(sys.argv[1])))")
    import json
    done = subprocess.run([h.PYTHON, "-c", code, json.dumps(job_input)], cwd=EXAMPLE_DIR,
                          capture_output=True, check=True)
    return done.stdout


@unittest.skipIf(numpy_missing(), "python3-numpy is not installed")
class PythonExampleTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.expected = direct_render(JOB_INPUT)

    def setUp(self):
        self.tmp = pathlib.Path(tempfile.mkdtemp(prefix="renderq-example-test-"))
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.scratch = self.tmp / "scratch"
        self.scratch.mkdir()
        self.jobs = 0

    def start(self):
        runner = h.RunnerProcess([h.PYTHON, str(EXAMPLE_DIR / "runner.py")], cwd=self.scratch)
        self.addCleanup(runner.close)
        self.assertEqual(runner.expect(), {"ready": True})
        return runner

    def send_job(self, runner, job_input, checkpoint=None):
        self.jobs += 1
        job_dir = self.scratch / ("job-%d" % self.jobs)
        job_dir.mkdir()
        runner.send(h.job_message("job", job_input, job_dir, checkpoint))
        return job_dir

    def test_output_equals_a_direct_call_with_progress_and_previews(self):
        runner = self.start()
        job_dir = self.send_job(runner, JOB_INPUT)
        progress, previews = [], 0
        while True:
            message = runner.expect()
            if "progress" in message:
                progress.append(message["progress"])
            elif "preview" in message:
                previews += 1
                self.assertTrue(h.read_job_file(job_dir, message["preview"])
                                .startswith(b"\x89PNG"))
            elif "checkpoint" in message:
                runner.send({"checkpoint_saved": message["checkpoint"]})
            else:
                break
        self.assertEqual(h.read_job_file(job_dir, message["done"]), self.expected)
        self.assertEqual(progress, sorted(progress))
        self.assertEqual(progress[-1], 1.0)
        self.assertGreater(previews, 0)

    def test_a_killed_runner_resumes_from_its_checkpoint_to_the_same_bytes(self):
        runner = self.start()
        job_dir = self.send_job(runner, JOB_INPUT)
        while True:
            message = runner.expect()
            if "checkpoint" in message:
                break
            self.assertNotIn("done", message, "finished before its first checkpoint")
        # The worker stores the checkpoint durably, confirms it, and later dies.
        stored = self.tmp / "stored.ckpt"
        stored.write_bytes(h.read_job_file(job_dir, message["checkpoint"]))
        runner.send({"checkpoint_saved": message["checkpoint"]})
        runner.expect()  # the runner carries on (a progress message)
        os.killpg(runner.proc.pid, signal.SIGKILL)
        runner.wait()
        # The next attempt, in a fresh runner, gets the checkpoint back.
        second = self.start()
        job_dir = self.send_job(second, JOB_INPUT, checkpoint=stored)
        end = second.expect_end()
        self.assertEqual(h.read_job_file(job_dir, end["done"]), self.expected)
        self.assertRegex(second.wait_stderr("resuming at step"), r"resuming at step [1-9]\d* of 16000")

    def test_a_checkpoint_of_something_else_is_ignored(self):
        runner = self.start()
        stored = self.tmp / "other.ckpt"
        stored.write_bytes(b"not a checkpoint of this job")
        small = {"size": 32, "steps": 200, "seed": 3}
        job_dir = self.send_job(runner, small, checkpoint=stored)
        self.assertEqual(h.read_job_file(job_dir, runner.expect_end()["done"]),
                         direct_render(small))
        runner.wait_stderr("checkpoint ignored")

    def test_a_short_job_checkpoints_and_previews_at_its_quarters(self):
        # However fast the machine: a job over before CHECKPOINT_SECONDS still
        # leaves a checkpoint to resume from and a preview to look at.
        runner = self.start()
        small = {"size": 32, "steps": 200, "seed": 4}
        job_dir = self.send_job(runner, small)
        checkpoints, previews = 0, 0
        while True:
            message = runner.expect()
            if "checkpoint" in message:
                checkpoints += 1
                runner.send({"checkpoint_saved": message["checkpoint"]})
            elif "preview" in message:
                previews += 1
            elif "progress" not in message:
                break
        self.assertEqual(h.read_job_file(job_dir, message["done"]), direct_render(small))
        self.assertGreaterEqual(checkpoints, 3)
        self.assertGreaterEqual(previews, 1)  # the helper sends at most one a second

    def test_cancel(self):
        runner = self.start()
        self.send_job(runner, JOB_INPUT)
        self.assertIn("progress", runner.expect())
        runner.send({"cancel": "job"})
        self.assertEqual(runner.expect_end()["failed"]["code"], "canceled")

    def test_bad_input_fails_the_job(self):
        runner = self.start()
        self.send_job(runner, {"size": 32, "colour": "red"})
        failed = runner.expect_end()["failed"]
        self.assertEqual(failed["code"], "invalid_input")
        self.assertIn("colour", failed["message"])


if __name__ == "__main__":
    unittest.main()
