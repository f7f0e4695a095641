#!/usr/bin/env python3
"""Check topics/ (the machine-readable event contract) against itself.

Usage:
    python3 Tests/SchemaValidation/validate_examples.py [EXTRA_DIR]

Checks:
  * every topics/*.topic.json has exactly the documented fields, and its schemaFile exists,
    is a valid draft 2020-12 schema and names the same schema and schemaVersion;
  * every valid example passes its topic's schema (with formats checked);
  * every invalid example is rejected for exactly the reason in its file name, using the
    reason rule of topics/README.md (the Swift decoder follows the same rule);
  * every examples/<topic>/expected.json lists every example file of that folder;
  * examples quoted in Docs/topics.md are unchanged copies of the files;
  * optional EXTRA_DIR: files named <schema>.v<N>.<anything>.json (events written by the
    Swift code in tests) are validated against topics/schemas/<schema>.v<N>.schema.json.

Prints one line per check and ends with "N passed, N failed"; exits 1 on any failure.
Needs the `jsonschema` package (and `rfc3339-validator` for strict date-time; a fallback is used
otherwise).
"""

from __future__ import annotations

import json
import re
import sys
from datetime import datetime
from pathlib import Path

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError

REPO = Path(__file__).resolve().parents[2]
TOPICS = REPO / "topics"
EXAMPLES = TOPICS / "examples"

REASONS = ("MALFORMED_JSON", "INVALID_ENVELOPE", "UNSUPPORTED_SCHEMA_VERSION", "INVALID_FIELD")
VALID = "valid"
ENVELOPE_FIELDS = ("schema", "schemaVersion", "eventId", "correlationId", "occurredAt", "source", "data")
# Topics that must have the same partition count (co-partitioned by workOrderId).
CO_PARTITIONED = [("mes.operation-completed.v1", "mes.scrap-reported.v1")]

TOPIC_FIELDS = {
    "name": (str,),
    "template": (bool,),
    "partitions": (int,),
    "replicationFactor": (int,),
    "config": (dict,),
    "key": (str,),
    "keyDescription": (str,),
    "owner": (str,),
    "producers": (list,),
    "consumers": (list,),
    "schema": (str, type(None)),
    "schemaVersion": (int, type(None)),
    "schemaFile": (str, type(None)),
    "description": (str,),
}
VALID_NAME = re.compile(r"^valid-[0-9]{2}-[a-z0-9][a-z0-9-]*\.json$")
INVALID_NAME = re.compile(r"^invalid-(" + "|".join(REASONS) + r")-[a-z0-9][a-z0-9-]*\.json$")
EXTRA_NAME = re.compile(r"^(?P<schema>[a-z]+\.[a-z][a-z-]*)\.v(?P<version>[0-9]+)\.(?P<rest>.+)\.json$")
ORIGINAL_KEY = "$original"  # key copied unchanged from the input record


class Report:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def check(self, ok: bool, what: str, why: str = "", detail: str = "") -> bool:
        if ok:
            self.passed += 1
            print(f"PASS {what}" + (f" ({detail})" if detail else ""))
        else:
            self.failed += 1
            print(f"FAIL {what}" + (f": {why}" if why else ""))
        return ok


def format_checker() -> FormatChecker:
    checker = FormatChecker()
    if "date-time" not in checker.checkers:  # rfc3339-validator not installed

        @checker.checks("date-time", raises=ValueError)
        def _date_time(value: object) -> bool:
            if isinstance(value, str):
                datetime.fromisoformat(value.replace("Z", "+00:00"))
            return True

    return checker


FORMATS = format_checker()


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def parse_object(raw: bytes) -> tuple[dict | None, str]:
    """The MALFORMED_JSON step: UTF-8, strict JSON, top-level object."""
    try:
        doc = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError as e:
        return None, f"not UTF-8: {e}"
    except ValueError as e:
        return None, f"not JSON: {e}"
    if not isinstance(doc, dict):
        return None, f"top-level JSON value is {type(doc).__name__}, not an object"
    return doc, ""


def where(error) -> str:
    path = "/".join(str(p) for p in error.absolute_path)
    message = error.message
    if error.validator == "not" and isinstance(error.instance, dict):
        forbidden = [r for sub in error.validator_value.get("anyOf", []) for r in sub.get("required", [])]
        message = f"forbidden field(s) present: {[f for f in forbidden if f in error.instance]}"
    elif len(message) > 200:
        message = message[:200] + "..."
    return f"{path or '(root)'}: {message}"


def classify(raw: bytes, validator: Draft202012Validator) -> tuple[str, str]:
    """Return (verdict, explanation) following the reason rule in topics/README.md."""
    doc, why = parse_object(raw)
    if doc is None:
        return "MALFORMED_JSON", why
    envelope, version, field = [], [], []
    for error in validator.iter_errors(doc):
        path = list(error.absolute_path)
        if not path:  # a required envelope field is missing
            envelope.append(error)
        elif path[0] == "data":
            # data that is not an object is an envelope error; anything inside data is a field error
            (envelope if len(path) == 1 and error.validator == "type" else field).append(error)
        elif path[0] in ("schema", "schemaVersion") and len(path) == 1 and error.validator == "const":
            version.append(error)  # well-typed, but not the schema/version this topic carries
        else:
            envelope.append(error)
    for verdict, errors in (("INVALID_ENVELOPE", envelope), ("UNSUPPORTED_SCHEMA_VERSION", version),
                            ("INVALID_FIELD", field)):
        if errors:
            return verdict, "; ".join(where(e) for e in errors[:3])
    return VALID, ""


# ---------------------------------------------------------------- semantic checks
# Rules of the contract that JSON Schema cannot express, checked on valid examples and extra events.

def key_problems(key: str, data: dict) -> list[str]:
    if key == ORIGINAL_KEY:
        return []
    return [f"key part {part!r} missing from data" for part in key.split(":")
            if not isinstance(data.get(part), (str, int)) or data.get(part) in ("", None)]


_VALIDATORS: dict[str, Draft202012Validator | None] = {}
_TOPIC_SCHEMAS: dict[str, str] = {}  # concrete topic name -> schema name (filled by load_topics)


def validator_for(schema: str, version: int = 1) -> Draft202012Validator | None:
    """The validator of topics/schemas/<schema>.v<version>.schema.json, or None if there is none."""
    name = f"{schema}.v{version}.schema.json"
    if name not in _VALIDATORS:
        path = TOPICS / "schemas" / name
        try:
            _VALIDATORS[name] = Draft202012Validator(json.loads(path.read_text(encoding="utf-8")),
                                                     format_checker=FORMATS)
        except (OSError, ValueError):
            _VALIDATORS[name] = None
    return _VALIDATORS[name]


def semantic_problems(schema: str, data: dict) -> list[str]:
    problems = []
    if schema == "ops.quarantine":
        # original: the input envelope of originalTopic, or for OVER_CONFIRMATION the held-back posting
        original = data.get("original", {})
        wanted = ("erp.production-confirmation" if data.get("reason") == "OVER_CONFIRMATION"
                  else _TOPIC_SCHEMAS.get(data.get("originalTopic")))
        if wanted is None:
            problems.append(f"originalTopic {data.get('originalTopic')!r} is not a topic Millwright reads")
        elif original.get("schema") != wanted:
            problems.append(f"original.schema {original.get('schema')!r}, expected {wanted!r}")
        else:
            validator = validator_for(wanted, original.get("schemaVersion", 1))
            errors = list(validator.iter_errors(original)) if validator else []
            if validator is None or errors:
                problems.append("original does not match its schema: " +
                                ("; ".join(where(e) for e in errors[:3]) if errors else "no schema file"))
    if schema in ("mdm.routing", "mes.production-release"):
        seqs = [op.get("operationSeq") for op in data.get("operations", [])]
        if seqs != sorted(set(seqs)):
            problems.append(f"operationSeq not strictly ascending: {seqs}")
    if schema == "mes.production-release":
        expected = f"WO-{data.get('orderId')}-{data.get('orderLine')}"
        if data.get("workOrderId") != expected:
            problems.append(f"workOrderId {data.get('workOrderId')!r} is not {expected!r}")
    if schema == "erp.production-confirmation":
        prefix = f"{data.get('workOrderId')}:{data.get('windowStart')}"
        if not str(data.get("postingId", "")).startswith(prefix):
            problems.append(f"postingId does not start with {prefix!r}")
    return problems


# ---------------------------------------------------------------- topic files

def load_topics(report: Report) -> dict[str, dict]:
    topics: dict[str, dict] = {}
    referenced: set[Path] = set()
    files = sorted(TOPICS.glob("*.topic.json"))
    report.check(bool(files), "topics/*.topic.json present", "no topic files found")
    for path in files:
        label = f"topic {path.name}"
        try:
            topic = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as e:
            report.check(False, label, f"not JSON: {e}")
            continue
        problems = []
        if not isinstance(topic, dict):
            report.check(False, label, "not a JSON object")
            continue
        missing = [f for f in TOPIC_FIELDS if f not in topic]
        extra = [f for f in topic if f not in TOPIC_FIELDS]
        if missing:
            problems.append(f"missing fields {missing}")
        for field, types in TOPIC_FIELDS.items():
            if field in topic and (not isinstance(topic[field], types) or
                                   (bool not in types and isinstance(topic[field], bool))):
                problems.append(f"{field} has type {type(topic[field]).__name__}")
        if problems:  # too broken to check its examples
            report.check(False, label, "; ".join(problems))
            continue
        if extra:
            problems.append(f"unexpected fields {extra}")
        name = topic["name"]
        if path.name != f"{name}.topic.json":
            problems.append(f"file name does not match name {name!r}")
        if topic["template"] != ("{plant}" in name):
            problems.append("template must be true exactly when the name contains {plant}")
        if topic["partitions"] < 1 or topic["replicationFactor"] < 1:
            problems.append("partitions and replicationFactor must be >= 1")
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in topic["config"].items()):
            problems.append("config values must be strings")
        policy = topic["config"].get("cleanup.policy")
        if policy not in ("delete", "compact"):
            problems.append(f"cleanup.policy {policy!r}")
        if policy == "delete" and not str(topic["config"].get("retention.ms", "")).isdigit():
            problems.append("delete topics need retention.ms")
        if not topic["producers"] or not topic["consumers"]:
            problems.append("producers and consumers must not be empty")
        if topic["schema"] is None:
            if topic["schemaVersion"] is not None or topic["schemaFile"] is not None:
                problems.append("schema null needs schemaVersion and schemaFile null")
        else:
            expected_file = f"schemas/{topic['schema']}.v{topic['schemaVersion']}.schema.json"
            if topic["schemaFile"] != expected_file:
                problems.append(f"schemaFile should be {expected_file}")
            schema_path = TOPICS / topic["schemaFile"]
            referenced.add(schema_path.resolve())
            if not schema_path.is_file():
                problems.append(f"schemaFile {topic['schemaFile']} does not exist")
            else:
                try:
                    schema = json.loads(schema_path.read_text(encoding="utf-8"))
                    Draft202012Validator.check_schema(schema)
                    props = schema.get("properties", {})
                    if props.get("schema", {}).get("const") != topic["schema"]:
                        problems.append("schema file's schema const differs")
                    if props.get("schemaVersion", {}).get("const") != topic["schemaVersion"]:
                        problems.append("schema file's schemaVersion const differs")
                    topic["_validator"] = Draft202012Validator(schema, format_checker=FORMATS)
                except (ValueError, SchemaError) as e:
                    problems.append(f"schema file invalid: {str(e).splitlines()[0]}")
        report.check(not problems, label, "; ".join(problems))
        topics[name] = topic
        if topic["schema"] is not None and not topic["template"]:
            _TOPIC_SCHEMAS[name] = topic["schema"]

    for a, b in CO_PARTITIONED:
        if a in topics and b in topics:
            pa, pb = topics[a]["partitions"], topics[b]["partitions"]
            report.check(pa == pb, f"co-partitioned {a} and {b}", f"{pa} vs {pb} partitions")
        else:
            report.check(False, f"co-partitioned {a} and {b}", "topic file missing")
    for schema_path in sorted((TOPICS / "schemas").glob("*.schema.json")):
        report.check(schema_path.resolve() in referenced, f"schema {schema_path.name} used by a topic",
                     "no topic names it")
    return topics


def topic_for_dir(dirname: str, topics: dict[str, dict]) -> tuple[dict | None, str | None]:
    """Map an examples/ folder to its topic; a template folder names a concrete plant."""
    if dirname in topics and not topics[dirname]["template"]:
        return topics[dirname], None
    for topic in topics.values():
        if topic["template"]:
            pattern = "^" + re.escape(topic["name"]).replace(re.escape("{plant}"), "([A-Za-z0-9_-]+)") + "$"
            m = re.match(pattern, dirname)
            if m:
                return topic, m.group(1)
    return None, None


def is_input(topic: dict) -> bool:
    return topic["owner"] != "Millwright"


# ---------------------------------------------------------------- examples

def check_valid_event(report: Report, label: str, raw: bytes, validator, schema: str, key: str | None,
                      plant: str | None = None) -> None:
    verdict, why = classify(raw, validator)
    if verdict != VALID:
        report.check(False, label, f"{verdict}: {why}")
        return
    data = json.loads(raw.decode("utf-8"))["data"]
    problems = semantic_problems(schema, data)
    if key is not None:
        problems += key_problems(key, data)
    if plant is not None and data.get("plant") != plant:
        problems.append(f"data.plant {data.get('plant')!r} does not match topic plant {plant!r}")
    report.check(not problems, label, "; ".join(problems))


def check_examples(report: Report, topics: dict[str, dict]) -> None:
    dirs = sorted(p for p in EXAMPLES.iterdir() if p.is_dir()) if EXAMPLES.is_dir() else []
    covered = set()
    for folder in dirs:
        topic, plant = topic_for_dir(folder.name, topics)
        if not report.check(topic is not None, f"examples/{folder.name} belongs to a topic", "no such topic"):
            continue
        covered.add(topic["name"])
        files = sorted(p for p in folder.iterdir() if p.is_file() and p.name != "expected.json")
        validator = topic.get("_validator")
        valid_count = 0
        verdicts: dict[str, str] = {}
        for path in files:
            label = f"examples/{folder.name}/{path.name}"
            raw = path.read_bytes()
            if VALID_NAME.match(path.name):
                valid_count += 1
                verdicts[path.name] = VALID
                if topic["schema"] is None:  # dead-letter topic: any non-empty bytes
                    report.check(len(raw) > 0, label, "empty value")
                elif validator is None:
                    report.check(False, label, "the topic's schema file is missing or invalid")
                else:
                    check_valid_event(report, label, raw, validator, topic["schema"], topic["key"], plant)
            elif INVALID_NAME.match(path.name):
                reason = INVALID_NAME.match(path.name).group(1)
                verdicts[path.name] = reason
                if not is_input(topic) or topic["schema"] is None:
                    report.check(False, label, "invalid examples only belong to topics Millwright reads")
                    continue
                if validator is None:
                    report.check(False, label, "the topic's schema file is missing or invalid")
                    continue
                verdict, why = classify(raw, validator)
                report.check(verdict == reason, f"{label} -> {reason}",
                             f"classified as {verdict}" + (f" ({why})" if why else ""), why)
            else:
                report.check(False, label, "name is neither valid-<nn>-<desc>.json nor invalid-<REASON>-<desc>.json")
        report.check(valid_count >= 2, f"examples/{folder.name} has >= 2 valid examples", f"{valid_count} found")

        expected_path = folder / "expected.json"
        has_invalid = any(v != VALID for v in verdicts.values())
        if expected_path.is_file():
            try:
                expected = json.loads(expected_path.read_text(encoding="utf-8"))
            except ValueError as e:
                report.check(False, f"examples/{folder.name}/expected.json", f"not JSON: {e}")
                continue
            problems = []
            if set(expected) != set(verdicts):
                problems.append(f"not listed: {sorted(set(verdicts) - set(expected))}; "
                                f"no such file: {sorted(set(expected) - set(verdicts))}")
            wrong = [n for n in verdicts if n in expected and expected[n] != verdicts[n]]
            if wrong:
                problems.append(f"verdict differs from file name for {wrong}")
            report.check(not problems, f"examples/{folder.name}/expected.json lists every file", "; ".join(problems))
        elif has_invalid or is_input(topic):
            report.check(False, f"examples/{folder.name}/expected.json present",
                         "topics Millwright reads need an expected.json")
    for name, topic in sorted(topics.items()):
        report.check(name in covered, f"topic {name} has examples", "no examples folder")


def check_docs(report: Report) -> None:
    """Examples quoted in Docs/topics.md must be byte-for-byte copies of the example files."""
    docs = REPO / "Docs" / "topics.md"
    if not docs.is_file():
        return
    text = docs.read_text(encoding="utf-8")
    for m in re.finditer(r"`topics/examples/([^`]+)`:\n\n```[a-z]*\n(.*?)\n```", text, re.S):
        path = EXAMPLES / m.group(1)
        same = path.is_file() and path.read_bytes().decode("utf-8", "replace").rstrip("\n") == m.group(2)
        report.check(same, f"Docs/topics.md quotes examples/{m.group(1)} unchanged",
                     "file missing" if not path.is_file() else "differs from the file")


def check_extra(report: Report, extra: Path) -> None:
    if not report.check(extra.is_dir(), f"extra directory {extra}", "not a directory"):
        return
    files = sorted(p for p in extra.iterdir() if p.is_file())
    print(f"INFO {len(files)} extra file(s) in {extra}")
    for path in files:
        label = f"extra {path.name}"
        m = EXTRA_NAME.match(path.name)
        if not m:
            report.check(False, label, "name is not <schema>.v<N>.<anything>.json")
            continue
        schema_path = TOPICS / "schemas" / f"{m['schema']}.v{m['version']}.schema.json"
        if not schema_path.is_file():
            report.check(False, label, f"no schema {schema_path.relative_to(REPO)}")
            continue
        validator = Draft202012Validator(json.loads(schema_path.read_text(encoding="utf-8")),
                                         format_checker=FORMATS)
        check_valid_event(report, label, path.read_bytes(), validator, m["schema"], None)


def main(argv: list[str]) -> int:
    if len(argv) > 2 or (len(argv) == 2 and argv[1] in ("-h", "--help")):
        print(__doc__)
        return 2
    report = Report()
    print(f"INFO date-time format checked by {'rfc3339-validator' if 'date-time' in FormatChecker().checkers else 'fallback'}")
    topics = load_topics(report)
    check_examples(report, topics)
    check_docs(report)
    if len(argv) == 2:
        check_extra(report, Path(argv[1]))
    print(f"{report.passed} passed, {report.failed} failed")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
