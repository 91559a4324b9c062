"""A Gray-Scott reaction-diffusion pattern, computed with numpy: the example of
"your own function" that the `python-example` kind queues (runner.py wraps it).

It knows nothing of renderq. It is written the way a renderer or a model is
usually written, in steps over a state, so that a caller can report progress,
stop between steps, save the state and carry on from it later:

    sim = Simulation(Params.from_input({"size": 256, "steps": 5000, "seed": 1}))
    while not sim.done:
        sim.advance(50)
    png = sim.png()

    render({"size": 256, "steps": 5000, "seed": 1})  # the same PNG in one call

Deterministic: the same input gives the same bytes, and a simulation restored
from state_bytes() at any step ends with the same bytes as one run straight
through. The only arithmetic is IEEE addition and multiplication in a fixed
order (no transcendental functions, no reductions whose order could change),
the starting pattern comes from Python's own `random.Random` (whose sequence is
fixed across versions), and the state is saved whole, in float64.
"""
import dataclasses
import hashlib
import json
import random
import struct
import zlib

import numpy as np

_STATE_MAGIC = b"RQRD1\n"


@dataclasses.dataclass(frozen=True)
class Params:
    size: int = 256     # the image is size x size pixels
    steps: int = 5000   # simulation steps: the amount of work
    seed: int = 1       # where the first spots of V are placed
    feed: float = 0.037
    kill: float = 0.06

    @classmethod
    def from_input(cls, data):
        """The kind's JSON input (already checked against its schema by the
        responder) -> Params, defaults filled in."""
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - fields
        if unknown:
            raise ValueError("unknown input keys: %s" % ", ".join(sorted(unknown)))
        return cls(**data)

    def fingerprint(self):
        text = json.dumps(dataclasses.asdict(self), sort_keys=True).encode()
        return hashlib.sha256(text).digest()


class Simulation:
    """The state after `step` steps of the simulation for `params`."""

    DIFFUSION_U = 0.16
    DIFFUSION_V = 0.08

    def __init__(self, params):
        self.params = params
        self.step = 0
        n = params.size
        self.u = np.ones((n, n))
        self.v = np.zeros((n, n))
        rng = random.Random(params.seed)
        for _ in range(12):
            half = max(1, int(n * (0.02 + 0.05 * rng.random())))
            y, x = int(rng.random() * (n - 2 * half)), int(rng.random() * (n - 2 * half))
            self.u[y:y + 2 * half, x:x + 2 * half] = 0.5
            self.v[y:y + 2 * half, x:x + 2 * half] = 0.25
        self._scratch = [np.empty((n, n)) for _ in range(4)]

    @property
    def done(self):
        return self.step >= self.params.steps

    def advance(self, count):
        """Runs up to `count` more steps (fewer at the end)."""
        lap_u, lap_v, uvv, tmp = self._scratch
        feed, kill = self.params.feed, self.params.kill
        for _ in range(min(count, self.params.steps - self.step)):
            np.multiply(self.v, self.v, out=uvv)
            uvv *= self.u
            _laplacian(self.u, lap_u)
            _laplacian(self.v, lap_v)
            lap_u *= self.DIFFUSION_U
            lap_u -= uvv
            np.subtract(1.0, self.u, out=tmp)
            tmp *= feed
            lap_u += tmp
            lap_v *= self.DIFFUSION_V
            lap_v += uvv
            np.multiply(self.v, feed + kill, out=tmp)
            lap_v -= tmp
            self.u += lap_u
            self.v += lap_v
            self.step += 1

    def state_bytes(self):
        """Everything needed to carry on: the step count and both fields."""
        header = _STATE_MAGIC + self.params.fingerprint() + struct.pack("<QQ", self.step,
                                                                        self.params.size)
        return header + self.u.astype("<f8").tobytes() + self.v.astype("<f8").tobytes()

    @classmethod
    def from_state(cls, params, data):
        """The simulation saved by state_bytes(); ValueError if `data` is not
        a state of these params."""
        n = params.size
        head = len(_STATE_MAGIC) + 32 + 16
        if len(data) != head + 2 * n * n * 8 or not data.startswith(_STATE_MAGIC):
            raise ValueError("not a state of this simulation (%d bytes)" % len(data))
        if data[len(_STATE_MAGIC):len(_STATE_MAGIC) + 32] != params.fingerprint():
            raise ValueError("a state of other parameters")
        step, size = struct.unpack("<QQ", data[head - 16:head])
        if size != n or step > params.steps:
            raise ValueError("state at step %d of size %d" % (step, size))
        sim = cls(params)
        sim.step = step
        fields = np.frombuffer(data, dtype="<f8", offset=head).reshape(2, n, n)
        sim.u[...] = fields[0]
        sim.v[...] = fields[1]
        return sim

    def png(self, max_size=None):
        """The pattern as an 8-bit RGB PNG (every `k`-th pixel when max_size
        asks for a smaller preview)."""
        v = self.v
        if max_size is not None and v.shape[0] > max_size:
            k = -(-v.shape[0] // max_size)
            v = v[::k, ::k]
        t = np.clip(v * 3.0, 0.0, 1.0)
        # A dark-blue to amber ramp, linear in each channel.
        low, high = np.array([12.0, 18.0, 40.0]), np.array([250.0, 190.0, 80.0])
        rgb = (low + (high - low) * t[..., None] + 0.5).astype(np.uint8)
        return encode_png(rgb)


def _laplacian(z, out):
    """The five-point Laplacian with wrap-around edges, into `out`."""
    np.multiply(z, -4.0, out=out)
    out[1:] += z[:-1]
    out[:1] += z[-1:]
    out[:-1] += z[1:]
    out[-1:] += z[:1]
    out[:, 1:] += z[:, :-1]
    out[:, :1] += z[:, -1:]
    out[:, :-1] += z[:, 1:]
    out[:, -1:] += z[:, :1]


def encode_png(rgb):
    """An (h, w, 3) uint8 array -> PNG bytes (standard library zlib only)."""
    height, width, _ = rgb.shape
    rows = np.concatenate([np.zeros((height, 1), np.uint8), rgb.reshape(height, width * 3)],
                          axis=1)

    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(rows.tobytes(), 6)) + chunk(b"IEND", b""))


def render(data):
    """The whole computation in one call: the kind's input -> the PNG."""
    sim = Simulation(Params.from_input(data))
    while not sim.done:
        sim.advance(1000)
    return sim.png()
