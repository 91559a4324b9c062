"""Checks HTTP answers against docs/openapi.yaml (the API's OpenAPI 3.1 document).

stack.Stack.request() passes every answer it receives through check(), so every
end-to-end test is also a contract test: an answer whose status, headers or body
the document does not describe raises ContractError and fails the test.

Bodies are validated with a real JSON Schema 2020-12 validator (Debian's
python3-jsonschema; 4.10 and later) against the schemas the document gives;
python3-yaml reads the document. What is checked, for a request to a route the
document has:
  - the method is an operation of the path, or the answer is 405 with Allow;
  - the status is one the operation lists;
  - every header the response object marks required is there, and every
    documented header that is there matches its schema;
  - the Content-Type is one the response lists, and the body validates against
    its schema (JSON and problem+json), or starts like a PNG (image/png).
Answers for paths the document does not describe (the console's static files,
unknown paths) are checked only when they are problems: the Problem schema.

Set RENDERQ_CONTRACT=0 to turn the check off (for a benchmark, say).
"""
import json
import os
import pathlib
import re
import threading

import yaml

try:
    from jsonschema import Draft202012Validator
except ImportError as e:  # pragma: no cover - install-deps --test installs it
    raise SystemExit("tests need python3-jsonschema (scripts/install-deps --test): %s" % e)

DOCUMENT_PATH = pathlib.Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class ContractError(AssertionError):
    pass


def _load(path):
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)

    # YAML reads `200:` keys as ints only when unquoted; the document quotes them,
    # but be safe either way.
    def normalise(value):
        if isinstance(value, dict):
            return {str(k): normalise(v) for k, v in value.items()}
        if isinstance(value, list):
            return [normalise(v) for v in value]
        return value
    return normalise(doc)


class Contract:
    """The document, its routes as regular expressions, and validators by schema."""

    def __init__(self, path=DOCUMENT_PATH):
        self.doc = _load(path)
        assert self.doc.get("openapi", "").startswith("3.1."), "not an OpenAPI 3.1 document"
        self.routes = []
        for template, item in self.doc["paths"].items():
            pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
            self.routes.append((re.compile(pattern), template, item))
        self._validators = {}
        self._item_memo = {}
        self._registry = self._make_registry()
        self.checked = 0

    # ---- references

    def _make_registry(self):
        """A `referencing` registry where jsonschema has one (4.18+), else None
        (older versions resolve through RefResolver)."""
        try:
            from referencing import Registry, Resource
            from referencing.jsonschema import DRAFT202012
        except ImportError:
            return None
        resource = Resource.from_contents(self.doc, default_specification=DRAFT202012)
        return Registry().with_resource("urn:renderq:openapi", resource)

    def _validator(self, schema):
        key = json.dumps(schema, sort_keys=True)
        if key not in self._validators:
            checker = Draft202012Validator.FORMAT_CHECKER
            if self._registry is not None:
                # Refs are "#/components/..." of the document: resolve them there.
                validator = Draft202012Validator(self._rebase(schema), registry=self._registry,
                                                 format_checker=checker)
            else:
                from jsonschema import RefResolver
                validator = Draft202012Validator(
                    schema, resolver=RefResolver(base_uri="", referrer=self.doc),
                    format_checker=checker)
            self._validators[key] = validator
        return self._validators[key]

    def _rebase(self, schema):
        """`schema` with every "#/..." reference pointed at the document's URI."""
        if isinstance(schema, dict):
            out = {}
            for k, v in schema.items():
                if k == "$ref" and isinstance(v, str) and v.startswith("#/"):
                    out[k] = "urn:renderq:openapi" + v
                else:
                    out[k] = self._rebase(v)
            return out
        if isinstance(schema, list):
            return [self._rebase(v) for v in schema]
        return schema

    def resolve(self, obj):
        """Follows a {"$ref": "#/components/..."} object of the document."""
        seen = 0
        while isinstance(obj, dict) and "$ref" in obj:
            node = self.doc
            for token in obj["$ref"].lstrip("#/").split("/"):
                node = node[token.replace("~1", "/").replace("~0", "~")]
            obj = node
            seen += 1
            if seen > 20:
                raise ContractError("reference loop at %s" % obj)
        return obj

    # ---- checking one answer

    def _errors(self, schema, value, prefix=()):
        # Messages quote the instance; a 100-job list would make a screenful.
        return ["/%s: %s" % ("/".join(str(p) for p in prefix + tuple(e.path)), e.message[:300])
                for e in sorted(self._validator(schema).iter_errors(value),
                                key=lambda e: list(e.path))]

    def _item_errors(self, item_schema, item, prefix):
        """Errors of one array item, remembered by its text: a poller's job list
        repeats most jobs from one answer to the next, and jsonschema is slow
        enough (about 0.25 ms a job) to load a busy test otherwise."""
        key = (json.dumps(item_schema, sort_keys=True), json.dumps(item, sort_keys=True))
        if key not in self._item_memo:
            if len(self._item_memo) > 20000:
                self._item_memo.clear()
            self._item_memo[key] = self._errors(item_schema, item)
        where = "/" + "/".join(str(p) for p in prefix)
        return [where + (e[1:] if e.startswith("/:") else e) for e in self._item_memo[key]]

    def validate(self, schema, value, what):
        errors = []
        target = self.resolve(schema)
        # An object whose properties are arrays of items (a job list): the object
        # is checked without descending into the items, each item on its own.
        arrays = {name: self.resolve(prop) for name, prop in (target.get("properties") or {}).items()
                  if self.resolve(prop).get("type") == "array" and "items" in self.resolve(prop)}
        if isinstance(value, dict) and arrays:
            shallow = dict(target, properties={
                name: ({k: v for k, v in arrays[name].items() if k != "items"} if name in arrays else prop)
                for name, prop in target["properties"].items()})
            errors += self._errors(shallow, value)
            for name, array in arrays.items():
                items = value.get(name)
                if isinstance(items, list):
                    for i, item in enumerate(items):
                        errors += self._item_errors(array["items"], item, (name, i))
        else:
            errors += self._errors(schema, value)
        if errors:
            lines = ["%s: %s" % (what, e) for e in errors[:5]]
            raise ContractError("answer does not fit docs/openapi.yaml:\n  " + "\n  ".join(lines))

    def check(self, method, path, status, headers, body):
        """headers: dict with lower-case names; body: bytes. Raises ContractError."""
        route_path = path.split("?", 1)[0]
        what = "%s %s -> %d" % (method, path, status)
        route = next(((t, item) for rx, t, item in self.routes if rx.match(route_path)), None)
        ctype = headers.get("content-type", "").split(";")[0].strip().lower()
        if route is None:
            if ctype == "application/problem+json":
                self._check_problem(body, status, what)
            self.checked += 1
            return
        template, item = route
        op = item.get(method.lower()) or (item.get("get") if method.upper() == "HEAD" else None)
        if op is None:
            if status == 405:
                if "allow" not in headers:
                    raise ContractError("%s: a 405 without Allow" % what)
                self._check_problem(body, status, what)
            elif status < 400:
                raise ContractError("%s: %s is not an operation of %s" % (what, method, template))
            else:
                self._check_problem(body, status, what) if ctype == "application/problem+json" else None
            self.checked += 1
            return
        responses = op.get("responses", {})
        spec = responses.get(str(status)) or responses.get("%dXX" % (status // 100)) or \
            responses.get("default")
        if spec is None:
            raise ContractError("%s: status %d is not documented for %s %s (documented: %s)"
                                % (what, status, method.upper(), template, ", ".join(responses)))
        spec = self.resolve(spec)
        for name, header in (spec.get("headers") or {}).items():
            header = self.resolve(header)
            value = headers.get(name.lower())
            if value is None:
                if header.get("required"):
                    raise ContractError("%s: required header %s missing" % (what, name))
                continue
            if "schema" in header:
                self.validate(header["schema"], value, "%s header %s" % (what, name))
        content = spec.get("content") or {}
        if method.upper() == "HEAD" or status == 304 or not content:
            if status == 304 and body:
                raise ContractError("%s: a 304 with a body" % what)
            self.checked += 1
            return
        documented = ctype if ctype in content else \
            ctype.split("/")[0] + "/*" if ctype.split("/")[0] + "/*" in content else \
            "*/*" if "*/*" in content else None
        if documented is None:
            raise ContractError("%s: Content-Type %r, documented: %s"
                                % (what, ctype, ", ".join(content)))
        media = content[documented]
        if ctype in ("application/json", "application/problem+json"):
            try:
                value = json.loads(body)
            except ValueError as e:
                raise ContractError("%s: body is not JSON: %s" % (what, e))
            if "schema" in media:
                self.validate(media["schema"], value, what)
            if ctype == "application/problem+json" and value.get("status") != status:
                raise ContractError("%s: problem status %r" % (what, value.get("status")))
        elif ctype == "image/png":
            if not body.startswith(PNG_SIGNATURE):
                raise ContractError("%s: image/png that is not a PNG" % what)
        elif ctype == "image/jpeg":
            if not body.startswith(b"\xff\xd8\xff"):
                raise ContractError("%s: image/jpeg that is not a JPEG" % what)
        self.checked += 1

    def check_event(self, path, event, data):
        """One Server-Sent Event of the stream at `path`: its `data` (parsed)
        against the schema the document gives its event name (x-event-data of
        the text/event-stream answer). Raises ContractError."""
        route_path = path.split("?", 1)[0]
        route = next(((t, item) for rx, t, item in self.routes if rx.match(route_path)), None)
        if route is None:
            raise ContractError("GET %s: no such route in the document" % path)
        media = self.resolve(route[1]["get"]["responses"]["200"])["content"]["text/event-stream"]
        schemas = media.get("x-event-data") or {}
        if event not in schemas:
            raise ContractError("GET %s: event %r is not documented (documented: %s)"
                                % (path, event, ", ".join(schemas)))
        self.validate(schemas[event], data, "GET %s event %s" % (path, event))
        self.checked += 1

    def _check_problem(self, body, status, what):
        try:
            value = json.loads(body)
        except ValueError as e:
            raise ContractError("%s: problem body is not JSON: %s" % (what, e))
        self.validate({"$ref": "#/components/schemas/Problem"}, value, what)
        if value.get("status") != status:
            raise ContractError("%s: problem status %r" % (what, value.get("status")))


_contract = None
_contract_lock = threading.Lock()


def enabled():
    return os.environ.get("RENDERQ_CONTRACT", "1") != "0"


def contract():
    """The document's Contract, loaded once per process (tests call request() from threads)."""
    global _contract
    with _contract_lock:
        if _contract is None:
            _contract = Contract()
        return _contract


def check(method, path, status, headers, body):
    """Checks one answer against the document; raises ContractError."""
    if enabled():
        contract().check(method, path, status, headers, body)


def check_event(path, event, data):
    """See Contract.check_event; a no-op with RENDERQ_CONTRACT=0."""
    if enabled():
        contract().check_event(path, event, data)
