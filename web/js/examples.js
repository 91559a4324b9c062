// The scenes the submit form offers. The first is built in and small enough for
// a CPU worker to finish in seconds; the others are the project's examples/,
// which nginx serves under /console/examples/.

export const QUICK_SCENE = {
  width: 160, height: 120, samples: 24, max_depth: 6, seed: 0,
  camera: {position: [0, 1, 5], look_at: [0, 0.5, 0], vfov: 40},
  sky: {horizon: [1, 1, 1], zenith: [0.45, 0.65, 1.0]},
  materials: [
    {name: "red", type: "lambertian", albedo: [0.8, 0.15, 0.1]},
    {name: "steel", type: "metal", albedo: [0.8, 0.8, 0.85], roughness: 0.15},
    {name: "glass", type: "dielectric", ior: 1.5},
    {name: "floor", type: "lambertian", albedo: [0.55, 0.55, 0.5]},
  ],
  objects: [
    {type: "sphere", center: [0, 0.5, 0], radius: 0.5, material: "red"},
    {type: "sphere", center: [-1.1, 0.4, 0.3], radius: 0.4, material: "steel"},
    {type: "sphere", center: [1.05, 0.4, 0.4], radius: 0.4, material: "glass"},
    {type: "quad", corner: [-6, 0, -6], u: [12, 0, 0], v: [0, 0, 12], material: "floor"},
  ],
};

export const EXAMPLES = [
  {id: "quick", title: "Three spheres (160×120, renders in seconds)", scene: QUICK_SCENE},
  {id: "cornell_box", title: "Cornell box (320×320, 64 samples)", file: "cornell_box.json"},
  {id: "spheres", title: "Spheres field (640×360, 304 spheres)", file: "spheres.json"},
  {id: "mesh", title: "Mesh (640×360, 3 MB of triangles)", file: "mesh.json"},
];

/** JSON with two-space indents and vectors on one line ("[0, 1, 5]"). */
export function prettyScene(scene) {
  return JSON.stringify(scene, null, 2)
    .replace(/\[\s+(-?[\d.e+-]+(?:,\s+-?[\d.e+-]+)*)\s+\]/g, (_, inner) => `[${inner.split(/,\s+/).join(", ")}]`);
}

/** The example's JSON text, pretty-printed when it is built in. */
export async function exampleText(example) {
  if (example.scene) return prettyScene(example.scene);
  const response = await fetch(`/console/examples/${example.file}`, {credentials: "omit"});
  if (!response.ok) throw new Error(`could not load ${example.file} (HTTP ${response.status})`);
  return response.text();
}
