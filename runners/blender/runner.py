"""A runner for Blender (`blender -b`): one frame of a .blend file to a PNG.

UNTESTED: Blender is not installed where renderq is built and tested, so this
runner has never run. It is a starting point written against Blender's
documented command line (2.8 and later); try it on one job before you enable
it. Its kind file is examples/kinds.d/blender.json (docs/kinds.md "Blender").

Input (see the kind file's schema): `blend`, the .blend file's bytes in base64
(the file must be self-contained: File > External Data > Pack Resources);
`frame` (default 1); optional `engine`, `samples`, `width`, `height`.

Blender runs with --disable-autoexec, so Python scripts and drivers stored in a
submitted .blend do not run. The device comes from RENDERQ_DEVICE: Cycles
renders with CUDA on the GPU the worker's CUDA_VISIBLE_DEVICES leaves visible
(RENDERQ_BLENDER_CYCLES_DEVICE=OPTIX to use OptiX), or on the CPU.
Progress: Blender's "Sample N/M" (Cycles) or "Rendering N / M samples" (EEVEE).
"""
import base64
import binascii
import glob
import json
import os
import re
import subprocess
import sys
import threading

try:
    import renderq_runner  # installed with renderq for Debian's python3
except ImportError:  # a checkout: the helper lies in runners/python/
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
    import renderq_runner

BLENDER = os.environ.get("RENDERQ_BLENDER", "/usr/bin/blender")
_SAMPLES = re.compile(rb"(?:Sample |Rendering )(\d+) ?/ ?(\d+)")


def settings_script(job_input):
    """Python run inside Blender before the render: the input's overrides."""
    lines = ["import bpy", "scene = bpy.context.scene"]
    if "engine" in job_input:
        lines.append("scene.render.engine = %s" % json.dumps(job_input["engine"]))
    if "width" in job_input:
        lines.append("scene.render.resolution_x = %d" % job_input["width"])
    if "height" in job_input:
        lines.append("scene.render.resolution_y = %d" % job_input["height"])
    if "width" in job_input or "height" in job_input:
        lines.append("scene.render.resolution_percentage = 100")
    if "samples" in job_input:
        lines.append("scene.cycles.samples = %d" % job_input["samples"])
        lines.append("scene.eevee.taa_render_samples = %d" % job_input["samples"])
    return "\n".join(lines)


def handle(job):
    try:
        blend = base64.b64decode(job.input["blend"], validate=True)
    except (KeyError, TypeError, binascii.Error) as e:
        job.fail("invalid_input", "`blend` must be a .blend file in base64 (%s)" % e)
    if not blend.startswith(b"BLENDER"):
        job.fail("invalid_input", "`blend` is not a .blend file")
    (job.dir / "scene.blend").write_bytes(blend)
    frame = int(job.input.get("frame", 1))
    argv = [BLENDER, "--background", "--disable-autoexec", str(job.dir / "scene.blend"),
            "--python-expr", settings_script(job.input),
            "--render-output", str(job.dir / "frame_####"), "--render-format", "PNG",
            "--render-frame", str(frame)]
    if job.device.startswith("cuda"):
        device = os.environ.get("RENDERQ_BLENDER_CYCLES_DEVICE", "CUDA")
        argv += ["--", "--cycles-device", device]
    proc = subprocess.Popen(argv, cwd=job.dir, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    tail = []

    def read_output():
        for line in proc.stdout:
            tail.append(line)
            del tail[:-40]
            found = _SAMPLES.search(line)
            if found and int(found.group(2)):
                job.progress(min(int(found.group(1)) / int(found.group(2)), 0.999))

    reader = threading.Thread(target=read_output, daemon=True)
    reader.start()
    while proc.poll() is None:
        if job.wait_canceled(0.05):
            proc.kill()
            proc.wait()
            return None
    reader.join()
    log = b"".join(tail).decode("utf-8", "replace")
    frames = sorted(glob.glob(str(job.dir / "frame_*.png")))
    if proc.returncode != 0 or not frames:
        print(log)
        last = log.strip().splitlines()[-1] if log.strip() else "no output"
        job.fail("blender_failed", "blender exited with status %d: %s" % (proc.returncode, last))
    return open(frames[-1], "rb").read()


def setup():
    if not os.access(BLENDER, os.X_OK):
        raise RuntimeError("%s is not installed (Debian: apt install blender)" % BLENDER)


if __name__ == "__main__":
    renderq_runner.serve(handle, setup)
