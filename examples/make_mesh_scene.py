#!/usr/bin/env python3
"""Writes examples/mesh.json: a tessellated torus knot (>= 100,000 triangles)
on a ground quad, lit by the sky and one lamp. Python 3 standard library only.

Coordinates are written with 3 decimals so the scene stays under the API's
4 MiB body limit.
"""
import json
import math
import os
import sys

P, Q = 2, 3            # the (2,3) torus knot: a trefoil
SEGMENTS = 1000        # along the knot
SIDES = 52             # around the tube
TUBE = 0.28


def knot(t):
    r = 2.0 + math.cos(Q * t)
    return (r * math.cos(P * t), r * math.sin(P * t), -math.sin(Q * t))


def sub(a, b):
    return (a[0] - b[0], a[1] - b[1], a[2] - b[2])


def cross(a, b):
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def norm(a):
    n = math.sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2])
    return (a[0] / n, a[1] / n, a[2] / n)


def build():
    vertices = []
    for i in range(SEGMENTS):
        t = 2.0 * math.pi * i / SEGMENTS
        c = knot(t)
        tangent = norm(sub(knot(t + 1e-4), knot(t - 1e-4)))
        side = norm(cross(tangent, (0.0, 0.0, 1.0)))
        up = cross(side, tangent)
        for j in range(SIDES):
            a = 2.0 * math.pi * j / SIDES
            ca, sa = math.cos(a) * TUBE, math.sin(a) * TUBE
            p = [c[k] + side[k] * ca + up[k] * sa for k in range(3)]
            # Stand the knot up: its axis becomes y; lift it above the ground.
            vertices.append([round(0.45 * p[0], 3), round(0.45 * p[2] + 1.5, 3), round(0.45 * p[1], 3)])
    triangles = []
    for i in range(SEGMENTS):
        i2 = (i + 1) % SEGMENTS
        for j in range(SIDES):
            j2 = (j + 1) % SIDES
            a, b = i * SIDES + j, i2 * SIDES + j
            c, d = i2 * SIDES + j2, i * SIDES + j2
            triangles.append([a, b, c])
            triangles.append([a, c, d])
    return vertices, triangles


def main():
    vertices, triangles = build()
    scene = {
        "width": 640, "height": 360, "samples": 16, "max_depth": 6, "seed": 3,
        "camera": {"position": [0, 2.2, 6.5], "look_at": [0, 1.3, 0], "up": [0, 1, 0],
                   "vfov": 38, "aperture": 0.0, "focus_distance": 6.5},
        "sky": {"horizon": [1, 1, 1], "zenith": [0.45, 0.6, 0.9]},
        "materials": [
            {"name": "floor", "type": "lambertian", "albedo": [0.6, 0.6, 0.55]},
            {"name": "copper", "type": "metal", "albedo": [0.95, 0.64, 0.54], "roughness": 0.15},
            {"name": "lamp", "type": "emissive", "emission": [10, 9, 8]},
        ],
        "objects": [
            {"type": "quad", "corner": [-8, 0, -8], "u": [16, 0, 0], "v": [0, 0, 16], "material": "floor"},
            {"type": "sphere", "center": [3, 5, 3], "radius": 0.8, "material": "lamp"},
            {"type": "mesh", "vertices": vertices, "triangles": triangles, "material": "copper"},
        ],
    }
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mesh.json")
    with open(out, "w") as f:
        json.dump(scene, f, separators=(",", ":"))
    size = os.path.getsize(out)
    print(f"{out}: {len(triangles)} triangles, {size} bytes")
    if size >= 4 * 1024 * 1024:
        sys.exit("mesh.json exceeds the 4 MiB API body limit")


if __name__ == "__main__":
    main()
