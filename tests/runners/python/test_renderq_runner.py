"""runners/python/renderq_runner.py against the worker's side of the protocol:
each test starts a real runner process (a few lines using the helper, written
to a temporary file) and plays the worker through tests/runners/runner_harness.py.
"""
import json
import pathlib
import sys
import tempfile
import time
import unittest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import runner_harness as h  # noqa: E402

sys.path.insert(0, str(h.RUNNERS_DIR / "python"))
import renderq_runner  # noqa: E402

# Handlers the tests run, chosen by the job's input {"do": NAME, ...}.
HANDLERS = r'''
import os, pathlib, subprocess, sys, time
import renderq_runner

def handle(job):
    do = job.input["do"]
    if do == "echo":
        return json_bytes(job)
    if do == "report":
        job.progress(0.25)
        job.preview(PNG)
        saved = job.checkpoint(b"state-1")
        (job.dir / "after-checkpoint").write_text(str(saved))
        job.progress(1.0)
        return b"reported"
    if do == "resume":
        state = job.resume()
        return b"none" if state is None else b"from:" + state
    if do == "wait_cancel":
        job.progress(0.5)
        while not job.wait_canceled(10):
            pass
        return b"ignored"
    if do == "checkpoint_then_cancel":
        return b"saved" if job.checkpoint(b"x") else b"not saved"
    if do == "fail":
        job.fail(job.input["code"], job.input["message"], retry=job.input.get("retry", False))
    if do == "raise":
        raise RuntimeError("handler bug")
    if do == "print":
        print("to stdout")
        os.write(1, b"raw fd 1\n")
        subprocess.run(["echo", "from a child"], check=True)
        return b"printed"
    if do == "child_stdin":
        data = subprocess.run(["cat"], capture_output=True, check=True).stdout
        return b"child read %d bytes" % len(data)
    if do == "return":
        value = job.input["value"]
        if value == "none":
            return None
        if value == "str":
            return "text"
        if value == "outside":
            return pathlib.Path("/etc/passwd")
        if value == "relative_up":
            return pathlib.Path("../x")
        if value == "subdir":
            (job.dir / "frames").mkdir()
            (job.dir / "frames" / "out.bin").write_bytes(b"from a file")
            return job.dir / "frames" / "out.bin"
    if do == "bad_progress":
        job.progress(1.5)
    if do == "bad_code":
        job.fail("Not-A-Code", "x")
    if do == "huge_message":
        job.fail("too_long", "m" * (2 << 20))
    if do == "flood":
        for i in range(100000):
            job.progress(i / 100000)
        return b"flooded"
    if do == "symlink_output":
        os.symlink("/etc/passwd", job.dir / "renderq-output")
        return b"replaced the link"
    raise ValueError("unknown do %r" % do)

def json_bytes(job):
    import json
    return json.dumps({"id": job.id, "input": job.input, "dir": str(job.dir),
                       "device": job.device}).encode()

PNG = b"\x89PNG\r\n\x1a\n" + b"not really a png but has the signature"

def setup():
    if os.environ.get("FAIL_SETUP"):
        raise RuntimeError("setup could not load the model")
    print("setup ran")

renderq_runner.serve(handle, setup)
'''


class RunnerTest(unittest.TestCase):
    def setUp(self):
        self.tmp = pathlib.Path(tempfile.mkdtemp(prefix="renderq-runner-test-"))
        self.script = self.tmp / "runner.py"
        self.script.write_text(HANDLERS)
        self.scratch = self.tmp / "scratch"
        self.scratch.mkdir()
        self.jobs = 0

    def tearDown(self):
        import shutil
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self, env=None):
        runner = h.RunnerProcess([h.PYTHON, str(self.script)], cwd=self.scratch, env=env)
        self.addCleanup(runner.close)
        return runner

    def started(self):
        runner = self.start()
        self.assertEqual(runner.expect(), {"ready": True})
        return runner

    def new_job(self, runner, job_input, checkpoint=None):
        self.jobs += 1
        job_id = "job-%d" % self.jobs
        job_dir = self.scratch / job_id
        job_dir.mkdir()
        runner.send(h.job_message(job_id, job_input, job_dir, checkpoint))
        return job_id, job_dir

    # ---- jobs that end well
    def test_ready_then_a_job_returns_its_output_file(self):
        runner = self.started()
        job_id, job_dir = self.new_job(runner, {"do": "echo", "text": "grüße"})
        end = runner.expect_end()
        self.assertEqual(set(end), {"done"})
        echoed = json.loads(h.read_job_file(job_dir, end["done"]))
        self.assertEqual(echoed, {"id": job_id, "input": {"do": "echo", "text": "grüße"},
                                  "dir": str(job_dir), "device": "cpu"})
        runner.wait_stderr("setup ran")

    def test_an_input_of_4_mib_reaches_the_handler(self):
        runner = self.started()
        blob = "é" * ((2 << 20) - 1000)  # 2 bytes each in UTF-8: about 4 MiB
        _, job_dir = self.new_job(runner, {"do": "echo", "blob": blob})
        echoed = json.loads(h.read_job_file(job_dir, runner.expect_end()["done"]))
        self.assertEqual(echoed["input"]["blob"], blob)

    def test_jobs_run_one_after_another_in_one_process(self):
        runner = self.started()
        for n in range(3):
            _, job_dir = self.new_job(runner, {"do": "echo", "n": n})
            end = runner.expect_end()
            self.assertEqual(json.loads(h.read_job_file(job_dir, end["done"]))["input"]["n"], n)
        self.assertIsNone(runner.proc.poll())

    def test_progress_preview_and_checkpoint_messages(self):
        runner = self.started()
        _, job_dir = self.new_job(runner, {"do": "report"})
        self.assertEqual(runner.expect(), {"progress": 0.25})
        preview = runner.expect()
        self.assertEqual(set(preview), {"preview"})
        self.assertTrue(h.read_job_file(job_dir, preview["preview"]).startswith(b"\x89PNG"))
        checkpoint = runner.expect()
        self.assertEqual(set(checkpoint), {"checkpoint"})
        self.assertEqual(h.read_job_file(job_dir, checkpoint["checkpoint"]), b"state-1")
        # checkpoint() has not returned: the handler waits for the worker's answer.
        time.sleep(0.3)
        self.assertFalse((job_dir / "after-checkpoint").exists())
        runner.send({"checkpoint_saved": checkpoint["checkpoint"]})
        self.assertEqual(runner.expect(), {"progress": 1.0})
        end = runner.expect()
        self.assertEqual(h.read_job_file(job_dir, end["done"]), b"reported")
        self.assertEqual((job_dir / "after-checkpoint").read_text(), "True")
        # Once saved, the checkpoint's file is removed from DIR.
        self.assertFalse((job_dir / checkpoint["checkpoint"]).exists())

    def test_resume_reads_the_checkpoint_the_worker_names(self):
        runner = self.started()
        state = self.tmp / "stored.ckpt"
        state.write_bytes(b"\x00\x01state")
        _, job_dir = self.new_job(runner, {"do": "resume"}, checkpoint=state)
        self.assertEqual(h.read_job_file(job_dir, runner.expect_end()["done"]),
                         b"from:\x00\x01state")
        _, job_dir = self.new_job(runner, {"do": "resume"})
        self.assertEqual(h.read_job_file(job_dir, runner.expect_end()["done"]), b"none")

    def test_an_output_file_the_handler_names_in_a_subdirectory(self):
        runner = self.started()
        _, job_dir = self.new_job(runner, {"do": "return", "value": "subdir"})
        end = runner.expect_end()
        self.assertEqual(end, {"done": "frames/out.bin"})
        self.assertEqual(h.read_job_file(job_dir, end["done"]), b"from a file")

    # ---- cancel
    def test_cancel_sets_the_flag_while_the_handler_runs(self):
        runner = self.started()
        job_id, _ = self.new_job(runner, {"do": "wait_cancel"})
        self.assertEqual(runner.expect(), {"progress": 0.5})
        runner.send({"cancel": job_id})
        end = runner.expect_end()
        self.assertEqual(end["failed"]["code"], "canceled")
        self.assertEqual(end["failed"]["retry"], False)
        # The runner takes the next job.
        self.new_job(runner, {"do": "echo"})
        self.assertIn("done", runner.expect_end())

    def test_a_cancel_ends_a_wait_for_checkpoint_saved(self):
        runner = self.started()
        job_id, _ = self.new_job(runner, {"do": "checkpoint_then_cancel"})
        self.assertIn("checkpoint", runner.expect())
        runner.send({"cancel": job_id})
        self.assertEqual(runner.expect()["failed"]["code"], "canceled")

    def test_a_late_cancel_or_confirmation_is_ignored(self):
        runner = self.started()
        self.new_job(runner, {"do": "echo"})
        runner.expect_end()
        runner.send({"cancel": "job-1"})
        runner.send({"cancel": "some-other-job"})
        runner.send({"checkpoint_saved": "renderq-checkpoint-9"})
        self.new_job(runner, {"do": "echo"})
        self.assertIn("done", runner.expect_end())

    # ---- failures
    def test_fail_sends_the_code_message_and_retry(self):
        runner = self.started()
        self.new_job(runner, {"do": "fail", "code": "out_of_memory", "message": "12 GB > 8 GB",
                              "retry": True})
        self.assertEqual(runner.expect_end(), {"failed": {"code": "out_of_memory",
                                                          "message": "12 GB > 8 GB",
                                                          "retry": True}})
        self.new_job(runner, {"do": "fail", "code": "device_lost", "message": "Xid 79"})
        self.assertEqual(runner.expect_end()["failed"],
                         {"code": "device_lost", "message": "Xid 79", "retry": False})

    def test_an_exception_fails_the_job_and_the_runner_carries_on(self):
        runner = self.started()
        self.new_job(runner, {"do": "raise"})
        failed = runner.expect_end()["failed"]
        self.assertEqual(failed["code"], "runner_error")
        self.assertIn("RuntimeError: handler bug", failed["message"])
        runner.wait_stderr("Traceback")
        self.new_job(runner, {"do": "echo"})
        self.assertIn("done", runner.expect_end())

    def test_a_bad_return_value_or_argument_fails_the_job(self):
        runner = self.started()
        cases = [({"do": "return", "value": "none"}, "NoneType"),
                 ({"do": "return", "value": "str"}, "str"),
                 ({"do": "return", "value": "outside"}, "not inside"),
                 ({"do": "return", "value": "relative_up"}, "not inside"),
                 ({"do": "bad_progress"}, "progress must lie in [0, 1]"),
                 ({"do": "bad_code"}, "does not match")]
        for job_input, expected in cases:
            with self.subTest(job_input):
                self.new_job(runner, job_input)
                failed = runner.expect_end()["failed"]
                self.assertEqual(failed["code"], "runner_error")
                self.assertIn(expected, failed["message"])

    def test_a_huge_failure_message_is_cut_to_fit_a_line(self):
        runner = self.started()
        self.new_job(runner, {"do": "huge_message"})
        failed = runner.expect_end()["failed"]
        self.assertEqual(failed["code"], "too_long")
        self.assertLessEqual(len(failed["message"]), 4096)

    def test_the_output_is_written_as_a_new_file_not_through_a_link(self):
        runner = self.started()
        before = pathlib.Path("/etc/passwd").read_bytes()
        _, job_dir = self.new_job(runner, {"do": "symlink_output"})
        end = runner.expect_end()
        self.assertEqual(h.read_job_file(job_dir, end["done"]), b"replaced the link")
        self.assertEqual(pathlib.Path("/etc/passwd").read_bytes(), before)

    def test_progress_is_spaced_out_so_a_loop_cannot_flood(self):
        runner = self.started()
        self.new_job(runner, {"do": "flood"})
        messages = 0
        while True:
            message = runner.expect()
            if "done" in message:
                break
            messages += 1
        # 100,000 calls; one message per 0.1 s of the loop's run time at most.
        self.assertLess(messages, 1000)

    # ---- stdio hygiene
    def test_print_and_child_output_go_to_stderr_not_the_protocol(self):
        runner = self.started()
        _, job_dir = self.new_job(runner, {"do": "print"})
        end = runner.expect()
        self.assertEqual(h.read_job_file(job_dir, end["done"]), b"printed")
        for text in ("to stdout", "raw fd 1", "from a child"):
            runner.wait_stderr(text)

    def test_a_child_process_cannot_read_the_workers_messages(self):
        runner = self.started()
        _, job_dir = self.new_job(runner, {"do": "child_stdin"})
        self.assertEqual(h.read_job_file(job_dir, runner.expect_end()["done"]),
                         b"child read 0 bytes")

    # ---- the process's life
    def test_setup_failure_exits_without_ready(self):
        runner = self.start(env={"FAIL_SETUP": "1"})
        self.assertEqual(runner.no_output_end(), [])
        self.assertEqual(runner.wait(), 1)
        runner.wait_stderr("setup could not load the model")

    def test_end_of_input_ends_the_runner_even_mid_job(self):
        runner = self.started()
        self.new_job(runner, {"do": "wait_cancel"})
        self.assertEqual(runner.expect(), {"progress": 0.5})
        runner.proc.stdin.close()
        self.assertEqual(runner.wait(), 0)

    def test_protocol_violations_by_the_worker_end_the_runner(self):
        job = h.job_message("j", {}, "/tmp")["job"]
        cases = {
            "not json": b"{nope\n",
            "not an object": b"[1, 2]\n",
            "not utf-8": b'{"cancel": "\xff\xfe"}\n',
            "two keys": json.dumps({"cancel": "a", "checkpoint_saved": "b"}).encode() + b"\n",
            "unknown message": b'{"hello": 1}\n',
            "duplicate key": b'{"cancel": "a", "cancel": "b"}\n',
            "NaN": b'{"job": {"id": "j", "input": NaN, "dir": "/tmp", "checkpoint": null}}\n',
            "job keys": json.dumps({"job": dict(job, extra=1)}).encode() + b"\n",
            "relative dir": json.dumps({"job": dict(job, dir="tmp")}).encode() + b"\n",
            "cancel not a string": b'{"cancel": 7}\n',
            "line over 1 MiB": b'{"cancel": "' + b"x" * (1 << 20) + b'"}\n',
            "ends inside a line": b'{"cancel": "a"}\n{"cancel"',
        }
        for name, data in cases.items():
            with self.subTest(name):
                runner = self.started()
                runner.send_raw(data)
                if name == "ends inside a line":
                    runner.proc.stdin.close()
                self.assertEqual(runner.no_output_end(), [])
                self.assertEqual(runner.wait(), 2, runner.stderr())
                runner.wait_stderr("protocol error from the worker")

    def test_a_second_job_while_one_runs_is_a_protocol_error(self):
        runner = self.started()
        self.new_job(runner, {"do": "wait_cancel"})
        self.assertEqual(runner.expect(), {"progress": 0.5})
        self.new_job(runner, {"do": "echo"})
        runner.no_output_end()
        self.assertEqual(runner.wait(), 2)
        runner.wait_stderr("sent while job")


class LineCodecTest(unittest.TestCase):
    """The helper's line rules, as the C++ reader must apply them too."""

    def test_the_limit_is_one_mebibyte_before_the_newline(self):
        fits = b'"' + b"x" * ((1 << 20) - 2) + b'"'
        self.assertEqual(len(fits), 1 << 20)
        with self.assertRaises(renderq_runner.ProtocolError) as refused:
            renderq_runner.parse_line(fits + b" ")
        self.assertIn("over the limit", str(refused.exception))
        with self.assertRaises(renderq_runner.ProtocolError) as not_object:
            renderq_runner.parse_line(fits)  # within the limit, but a string
        self.assertIn("not a JSON object", str(not_object.exception))

    def test_a_job_line_may_carry_an_input_of_4_mib(self):
        line = b'{"job":{"id":"j","input":{"blob":"' + b"x" * ((4 << 20) - 20) + \
            b'"},"dir":"/d","checkpoint":null}}'
        self.assertEqual(len(renderq_runner.parse_line(line)["job"]["input"]["blob"]),
                         (4 << 20) - 20)
        too_long = line.replace(b'"},', b"x" * (100 << 10) + b'"},')
        with self.assertRaises(renderq_runner.ProtocolError):
            renderq_runner.parse_line(too_long)

    def test_encoding_is_one_compact_utf8_line(self):
        line = renderq_runner.encode_line({"failed": {"code": "x", "message": "naïve\n"}})
        self.assertEqual(line.count(b"\n"), 1)
        self.assertTrue(line.endswith(b"\n"))
        self.assertIn("naïve".encode("utf-8"), line)
        with self.assertRaises(ValueError):
            renderq_runner.encode_line({"progress": float("nan")})


if __name__ == "__main__":
    unittest.main()
