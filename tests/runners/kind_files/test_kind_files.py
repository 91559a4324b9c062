"""The kind files renderq ships (kinds.d/, and examples/kinds.d/ for the ones
left disabled) read as SPEC's "Your own GPU program: job kinds" defines them:
known keys with the right types, a valid draft-7 input schema, a command whose
program exists and whose {runners_dir} paths exist in runners/, and demo
inputs (examples/kind-inputs/) that the schema accepts.
"""
import json
import pathlib
import re
import sys
import unittest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import runner_harness as h  # noqa: E402

try:
    import jsonschema
except ImportError:  # python3-jsonschema: scripts/install-deps --test
    jsonschema = None

NAME = re.compile(r"[a-z][a-z0-9-]{0,31}\Z")
KEYS = {"description": str, "command": list, "input_schema": dict, "output_media_type": str,
        "estimate_seconds": (int, float), "max_seconds": (int, float),
        "start_seconds": (int, float), "max_output_bytes": int,
        "max_checkpoint_bytes": int, "warm": bool}
REQUIRED = {"command", "input_schema", "estimate_seconds"}
SHIPPED = sorted((h.SOURCE_DIR / "kinds.d").glob("*.json"))
EXAMPLES = sorted((h.SOURCE_DIR / "examples" / "kinds.d").glob("*.json"))


class KindFilesTest(unittest.TestCase):
    def test_the_shipped_kinds_are_povray_and_the_python_example(self):
        self.assertEqual([p.stem for p in SHIPPED], ["povray", "python-example"])

    def test_every_kind_file_follows_spec(self):
        for path in SHIPPED + EXAMPLES:
            with self.subTest(path.name):
                kind = json.loads(path.read_text())
                self.assertRegex(path.stem, NAME)
                self.assertNotEqual(path.stem, "scene")
                self.assertLessEqual(set(kind), set(KEYS), "unknown keys")
                self.assertLessEqual(REQUIRED, set(kind), "required keys missing")
                for key, value in kind.items():
                    self.assertIsInstance(value, KEYS[key], key)
                    if key != "warm":  # JSON true is no number
                        self.assertNotIsInstance(value, bool, key)
                command = kind["command"]
                self.assertTrue(command and all(isinstance(a, str) for a in command))
                self.assertTrue(pathlib.Path(command[0]).is_absolute(), command[0])
                for arg in command:
                    if "{runners_dir}" in arg:
                        self.assertTrue(arg.startswith("{runners_dir}/"), arg)
                        target = h.RUNNERS_DIR / arg[len("{runners_dir}/"):]
                        self.assertTrue(target.is_file(), "%s: no %s" % (arg, target))
                self.assertEqual(kind["input_schema"].get("$schema"),
                                 "http://json-schema.org/draft-07/schema#")

    @unittest.skipIf(jsonschema is None, "python3-jsonschema is not installed")
    def test_schemas_are_draft_7_and_accept_the_demo_inputs(self):
        for path in SHIPPED + EXAMPLES:
            with self.subTest(path.name):
                schema = json.loads(path.read_text())["input_schema"]
                jsonschema.Draft7Validator.check_schema(schema)
        for path in SHIPPED:
            with self.subTest("demo input for " + path.name):
                schema = json.loads(path.read_text())["input_schema"]
                demo = json.loads((h.SOURCE_DIR / "examples" / "kind-inputs" /
                                   path.name).read_text())
                jsonschema.Draft7Validator(schema).validate(demo)

    @unittest.skipIf(jsonschema is None, "python3-jsonschema is not installed")
    def test_the_povray_schema_refuses_what_the_runner_would(self):
        schema = json.loads((h.SOURCE_DIR / "kinds.d" / "povray.json").read_text())
        validator = jsonschema.Draft7Validator(schema["input_schema"])
        for bad in ({}, {"scene": ""}, {"scene": "x", "width": 0}, {"scene": "x", "antialias": 4},
                    {"scene": "x", "antialias": "yes"}, {"scene": "x", "extra": 1}):
            with self.subTest(bad):
                self.assertTrue(list(validator.iter_errors(bad)))
        for good in ({"scene": "x"}, {"scene": "x", "antialias": True},
                     {"scene": "x", "antialias": 0.0}, {"scene": "x", "width": 4096}):
            with self.subTest(good):
                self.assertEqual(list(validator.iter_errors(good)), [])


if __name__ == "__main__":
    unittest.main()
