"""runners/povray: the `povray` kind's runner against the worker's side of the
protocol (tests/runners/runner_harness.py), with Debian's real POV-Ray, and
sandbox.py's Landlock confinement on its own.

Skips (exit 77) where povray is not installed.
"""
import os
import pathlib
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest
import zlib

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import runner_harness as h  # noqa: E402

POVRAY_DIR = h.RUNNERS_DIR / "povray"
sys.path.insert(0, str(POVRAY_DIR))
sys.path.insert(0, str(h.RUNNERS_DIR / "python"))
import runner as povray_runner  # noqa: E402
import sandbox  # noqa: E402

SCENE = """#version 3.7;
#include "colors.inc"
global_settings { assumed_gamma 1.0 }
camera { location <0, 1, -4> look_at <0, 0.3, 0> }
light_source { <2, 4, -3> color White }
plane { y, -1 pigment { checker color rgb 1 color rgb 0.2 } finish { reflection 0.2 } }
#declare I = 0;
#while (I < 12)
  sphere { <sin(I) * 2, cos(I * 0.7), I * 0.2>, 0.3
           pigment { color rgb <0.8, 0.4, 0.2> } finish { phong 1 reflection 0.3 } }
  #declare I = I + 1;
#end
"""
# Enough work to be still rendering when a cancel arrives.
SLOW_SCENE = SCENE.replace("I < 12", "I < 400") + """
sphere { 0, 1 pigment { rgbt <1, 1, 1, 0.9> } interior { ior 1.5 } }
"""


def png_pixels(data):
    """(IHDR, decompressed pixel rows) of a PNG, whatever its other chunks."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    at, header, idat = 8, None, b""
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        body = data[at + 8:at + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        at += 12 + length
    return header, zlib.decompress(idat)


def chunk_kinds(data):
    kinds, at = [], 8
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        kinds.append(kind)
        at += 12 + length
    return kinds


def processes_in_group(pgid):
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = pathlib.Path("/proc", entry, "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(int(entry))
    return found


@unittest.skipUnless(os.access(povray_runner.POVRAY, os.X_OK), "povray is not installed")
class PovrayRunnerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = pathlib.Path(tempfile.mkdtemp(prefix="renderq-povray-test-"))
        cls.scratch = cls.tmp / "scratch"
        cls.scratch.mkdir()
        cls.runner = h.RunnerProcess([h.PYTHON, str(POVRAY_DIR / "runner.py")], cwd=cls.scratch)
        assert cls.runner.expect() == {"ready": True}, cls.runner.stderr()
        cls.jobs = 0

    @classmethod
    def tearDownClass(cls):
        cls.runner.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def run_job(self, job_input, cancel_after_progress=False):
        PovrayRunnerTest.jobs += 1
        job_id = "job-%d" % self.jobs
        job_dir = self.scratch / job_id
        job_dir.mkdir()
        self.runner.send(h.job_message(job_id, job_input, job_dir))
        progress = []
        while True:
            message = self.runner.expect()
            if "progress" in message:
                progress.append(message["progress"])
                if cancel_after_progress and len(progress) == 1:
                    self.runner.send({"cancel": job_id})
                continue
            return message, progress, job_dir

    def test_renders_the_pixels_of_a_direct_povray_run(self):
        job_input = {"scene": SCENE, "width": 160, "height": 120, "antialias": True}
        end, progress, job_dir = self.run_job(job_input)
        self.assertEqual(set(end), {"done"}, end)
        served = h.read_job_file(job_dir, end["done"])
        # POV-Ray run by hand on the same scene with the documented arguments.
        direct_dir = self.tmp / "direct"
        direct_dir.mkdir()
        (direct_dir / "scene.pov").write_text(SCENE)
        ini = self.tmp / "direct.ini"
        ini.write_text("Library_Path=/usr/share/povray-3.7/include\n")
        subprocess.run(povray_runner.povray_arguments(job_input), cwd=direct_dir, check=True,
                       env=dict(os.environ, POVINI=str(ini)), capture_output=True)
        direct = (direct_dir / "output.png").read_bytes()
        header, pixels = png_pixels(served)
        self.assertEqual(struct.unpack(">II", header[:8]), (160, 120))
        self.assertEqual((header, pixels), png_pixels(direct))
        # The served PNG carries no render date, so the same scene gives the same bytes.
        self.assertNotIn(b"tIME", chunk_kinds(served))
        self.assertIn(b"tIME", chunk_kinds(direct))
        again, _, again_dir = self.run_job(job_input)
        self.assertEqual(h.read_job_file(again_dir, again["done"]), served)

    def test_progress_comes_from_povrays_pixel_counter(self):
        # POV-Ray prints its counter only once a render has run for a while.
        end, progress, _ = self.run_job({"scene": SLOW_SCENE, "width": 640, "height": 480})
        self.assertIn("done", end)
        self.assertTrue(progress, "no progress reported")
        self.assertEqual(progress, sorted(progress))  # never backwards
        self.assertTrue(all(0 < p < 1 for p in progress), progress)

    def test_povray_conf_restricts_its_paths_to_the_job(self):
        end, _, job_dir = self.run_job({"scene": SCENE, "width": 8, "height": 8})
        self.assertIn("done", end)
        conf = (self.scratch / "povray-home" / ".povray" / "3.7" / "povray.conf").read_text()
        self.assertIn("[File I/O Security]\nrestricted", conf)
        self.assertIn("read+write* = %s\n" % job_dir, conf)
        self.assertIn("[Shellout Security]\nforbidden", conf)

    @unittest.skipUnless(sandbox.abi() >= 1, "no Landlock in this kernel")
    def test_a_scene_that_reaches_outside_its_directory_fails_cleanly(self):
        outside = self.tmp / "escaped.txt"
        cases = {
            "reads /etc/passwd": '#fopen F "/etc/passwd" read\n#read (F, S)\n',
            "includes /etc/passwd": '#include "/etc/passwd"\n',
            "writes an absolute path": '#fopen F "%s" write\n#write (F, "x")\n' % outside,
            "writes through ..": '#fopen F "../../escaped.txt" write\n#write (F, "x")\n',
            "reads an image outside": ('plane { z, 1 pigment { image_map { png '
                                       '"/usr/share/doc/povray/copyright" } } }\n'),
        }
        for name, body in cases.items():
            with self.subTest(name):
                end, _, job_dir = self.run_job({"scene": "#version 3.7;\n" + body,
                                                "width": 8, "height": 8})
                self.assertEqual(set(end), {"failed"}, end)
                self.assertEqual(end["failed"]["code"], "file_access_denied", end)
                self.assertFalse(end["failed"]["retry"])
                self.assertFalse(outside.exists())
                self.assertFalse((self.tmp / "escaped.txt").exists())
        # Files inside the job's directory are the scene's to use.
        end, _, job_dir = self.run_job({"scene": '#version 3.7;\n#fopen F "notes.txt" write\n'
                                                 '#write (F, "kept")\n#fclose F\n' + SCENE,
                                        "width": 8, "height": 8})
        self.assertIn("done", end)
        self.assertEqual((job_dir / "notes.txt").read_text(), "kept")

    def test_a_scene_with_an_error_fails_with_povrays_message(self):
        end, _, _ = self.run_job({"scene": "#version 3.7;\nsphere { 0, }\n"})
        self.assertEqual(end["failed"]["code"], "scene_error")
        self.assertIn("line 2", end["failed"]["message"])
        end, _, _ = self.run_job({"scene": '#version 3.7;\n#include "no_such_file.inc"\n'})
        self.assertEqual(end["failed"]["code"], "scene_error")
        self.assertIn("no_such_file.inc", end["failed"]["message"])

    def test_bad_input_fails_without_running_povray(self):
        for job_input in ({"width": 8}, {"scene": "x", "width": 0}, {"scene": "x", "height": 1.5},
                          {"scene": "x", "antialias": 4}, {"scene": "x", "colour": 1}):
            with self.subTest(job_input):
                end, _, _ = self.run_job(job_input)
                self.assertEqual(end["failed"]["code"], "invalid_input", end)

    def test_cancel_kills_povray(self):
        end, progress, _ = self.run_job({"scene": SLOW_SCENE, "width": 1280, "height": 960,
                                         "antialias": 0.0}, cancel_after_progress=True)
        self.assertEqual(end["failed"]["code"], "canceled")
        self.assertTrue(progress)
        # Only the runner itself is left in its process group.
        self.assertEqual(processes_in_group(self.runner.proc.pid), [self.runner.proc.pid])
        # And it takes the next job.
        end, _, _ = self.run_job({"scene": SCENE, "width": 8, "height": 8})
        self.assertIn("done", end)


@unittest.skipUnless(sandbox.abi() >= 1, "no Landlock in this kernel")
class SandboxTest(unittest.TestCase):
    """sandbox.py on a plain program: what it lets through and what it stops."""

    def setUp(self):
        self.tmp = pathlib.Path(tempfile.mkdtemp(prefix="renderq-sandbox-test-"))
        self.addCleanup(shutil.rmtree, self.tmp, True)
        (self.tmp / "allowed").mkdir()
        (self.tmp / "allowed" / "in.txt").write_text("inside")
        (self.tmp / "other").mkdir()
        (self.tmp / "other" / "secret.txt").write_text("secret")

    def confined(self, *shell):
        argv = [h.PYTHON, "-I", "-S", str(POVRAY_DIR / "sandbox.py"),
                "--read", "/usr", "--read", "/etc/ld.so.cache",
                "--write", str(self.tmp / "allowed"), "--", "/bin/sh", "-c", *shell]
        return subprocess.run(argv, capture_output=True, text=True)

    def test_table(self):
        allowed = self.tmp / "allowed"
        cases = [  # (what, shell command, succeeds)
            ("read inside", "cat %s/in.txt" % allowed, True),
            ("write inside", "echo x > %s/new.txt" % allowed, True),
            ("read a system library", "test -r /usr/lib/os-release && cat /usr/lib/os-release", True),
            ("read /etc/passwd", "cat /etc/passwd", False),
            ("read a sibling directory", "cat %s/other/secret.txt" % self.tmp, False),
            ("write a sibling directory", "echo x > %s/other/new.txt" % self.tmp, False),
            ("write /usr", "echo x > /usr/renderq-sandbox-test", False),
            ("write through ..", "echo x > %s/../escaped.txt" % allowed, False),
        ]
        for what, command, succeeds in cases:
            with self.subTest(what):
                done = self.confined(command)
                self.assertEqual(done.returncode == 0, succeeds, (done.returncode, done.stderr))
        self.assertFalse((self.tmp / "escaped.txt").exists())
        self.assertFalse((self.tmp / "other" / "new.txt").exists())

    def test_a_symlink_inside_does_not_lead_outside(self):
        os.symlink(self.tmp / "other" / "secret.txt", self.tmp / "allowed" / "link.txt")
        done = self.confined("cat %s/allowed/link.txt" % self.tmp)
        self.assertNotEqual(done.returncode, 0)
        self.assertNotIn("secret", done.stdout)

    def test_usage_errors(self):
        done = subprocess.run([h.PYTHON, str(POVRAY_DIR / "sandbox.py"), "--bogus", "x"],
                              capture_output=True, text=True)
        self.assertEqual(done.returncode, 2)
        self.assertIn("usage", done.stderr)


if __name__ == "__main__":
    unittest.main()
