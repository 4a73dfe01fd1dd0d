#!/usr/bin/python3
"""Reads blackout's reports back with real consumers.

  check_reports.py junit FILE TESTS FAILURES ERRORS
      JUnit XML through junitparser (what CI plugins parse): the counts, and
      every failure carries a message.
  check_reports.py kcidb FILE SCHEMA TESTS
      KCIDB JSON against the schema (jsonschema, Draft 7, formats checked),
      plus what the schema cannot say: ids link up, times are RFC 3339.
"""
import datetime
import json
import sys


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def junit(path, tests, failures, errors):
    from junitparser import JUnitXml, Failure, Error
    xml = JUnitXml.fromfile(path)
    n = f = e = 0
    for suite in xml:
        for case in suite:
            n += 1
            for r in case.result:
                if isinstance(r, Failure):
                    f += 1
                    if not r.message:
                        fail("failure without a message in " + case.name)
                elif isinstance(r, Error):
                    e += 1
            if case.system_out is None:
                fail("no system-out in " + case.name)
    if (n, f, e) != (tests, failures, errors):
        fail("tests/failures/errors %d/%d/%d, want %d/%d/%d" % (n, f, e, tests, failures, errors))
    if (xml.tests, xml.failures, xml.errors) != (tests, failures, errors):
        fail("totals %s/%s/%s" % (xml.tests, xml.failures, xml.errors))
    print("junit ok: %d tests, %d failures, %d errors" % (n, f, e))


def rfc3339(value, where):
    try:
        datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        fail("%s: %r is not an RFC 3339 time" % (where, value))


def kcidb(path, schema_path, tests):
    from jsonschema import Draft7Validator, FormatChecker
    if "uri" not in FormatChecker.checkers:
        fail("jsonschema cannot check 'uri' here (python3-rfc3987 missing)")
    data = json.load(open(path))
    schema = json.load(open(schema_path))
    errors = sorted(Draft7Validator(schema, format_checker=FormatChecker()).iter_errors(data), key=str)
    for err in errors[:10]:
        print("schema: %s at %s" % (err.message, "/".join(map(str, err.absolute_path))))
    if errors:
        fail("%d schema errors" % len(errors))
    checkouts = {c["id"] for c in data.get("checkouts", [])}
    builds = {b["id"] for b in data.get("builds", [])}
    for b in data.get("builds", []):
        if b["checkout_id"] not in checkouts:
            fail("build %s names an unknown checkout" % b["id"])
    for t in data.get("tests", []):
        if t["build_id"] not in builds:
            fail("test %s names an unknown build" % t["id"])
    for kind in ("checkouts", "builds", "tests"):
        for obj in data.get(kind, []):
            for key in ("start_time", "_timestamp"):
                if key in obj:
                    rfc3339(obj[key], "%s %s" % (kind, obj["id"]))
    if len(data.get("tests", [])) != tests:
        fail("%d tests, want %d" % (len(data.get("tests", [])), tests))
    print("kcidb ok: v%d.%d, %d checkouts, %d builds, %d tests" % (
        data["version"]["major"], data["version"].get("minor", 0), len(checkouts), len(builds), tests))


if __name__ == "__main__":
    if sys.argv[1] == "junit":
        junit(sys.argv[2], *map(int, sys.argv[3:6]))
    elif sys.argv[1] == "kcidb":
        kcidb(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        fail("unknown check " + sys.argv[1])
