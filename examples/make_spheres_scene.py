#!/usr/bin/env python3
"""Writes examples/spheres.json: glass, metal and diffuse spheres on a ground
plane in the manner of "Ray Tracing in One Weekend"'s cover: three large
spheres (glass, polished steel, brushed gold) among a field of small ones.
Deterministic (fixed seed). Python 3 standard library only.
"""
import json
import os
import random

rng = random.Random(20261121)

materials = [
    {"name": "ground", "type": "lambertian", "albedo": [0.5, 0.5, 0.5]},
    {"name": "glass", "type": "dielectric", "ior": 1.5},
    {"name": "steel", "type": "metal", "albedo": [0.8, 0.8, 0.8], "roughness": 0.0},
    {"name": "gold", "type": "metal", "albedo": [0.9, 0.7, 0.3], "roughness": 0.3},
    {"name": "lamp", "type": "emissive", "emission": [6, 5, 4]},
]
palette = []
for i in range(8):
    name = f"diffuse{i}"
    albedo = [round(rng.random() * rng.random(), 3) for _ in range(3)]
    materials.append({"name": name, "type": "lambertian", "albedo": albedo})
    palette.append(name)
for i in range(4):
    name = f"metal{i}"
    albedo = [round(0.5 + 0.5 * rng.random(), 3) for _ in range(3)]
    materials.append({"name": name, "type": "metal", "albedo": albedo,
                      "roughness": round(0.5 * rng.random(), 3)})
    palette.append(name)

objects = [
    {"type": "sphere", "center": [0, -1000, 0], "radius": 1000, "material": "ground"},
    {"type": "sphere", "center": [0, 0.8, 0], "radius": 0.8, "material": "glass"},
    {"type": "sphere", "center": [-1.8, 0.7, -0.4], "radius": 0.7, "material": "steel"},
    {"type": "sphere", "center": [1.8, 0.7, -0.4], "radius": 0.7, "material": "gold"},
    {"type": "sphere", "center": [0, 3.5, -3], "radius": 0.6, "material": "lamp"},
]
big = [(0, 0.8, 0, 0.8), (-1.8, 0.7, -0.4, 0.7), (1.8, 0.7, -0.4, 0.7)]
for a in range(-11, 11):
    for b in range(-11, 4):
        x = round(0.5 * a + 0.35 * rng.random(), 3)
        z = round(0.5 * b + 0.35 * rng.random(), 3)
        r = 0.1
        if any((x - cx) ** 2 + (z - cz) ** 2 < (cr + r + 0.05) ** 2 for cx, _, cz, cr in big):
            continue
        pick = rng.random()
        material = "glass" if pick < 0.1 else rng.choice(palette)
        objects.append({"type": "sphere", "center": [x, r, z], "radius": r, "material": material})

scene = {
    "width": 640, "height": 360, "samples": 32, "max_depth": 12, "seed": 7,
    "camera": {"position": [0, 1.2, 6], "look_at": [0, 0.6, 0], "up": [0, 1, 0],
               "vfov": 35, "aperture": 0.05, "focus_distance": 6.0},
    "sky": {"horizon": [1, 1, 1], "zenith": [0.5, 0.7, 1.0]},
    "materials": materials,
    "objects": objects,
}
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "spheres.json")
with open(out, "w") as f:
    json.dump(scene, f, indent=1)
    f.write("\n")
print(f"{out}: {len(objects)} spheres")
