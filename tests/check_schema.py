#!/usr/bin/env python3
"""One source for the schema: tests/schema.json (what tools/top_gateway.py validates
orders against, and what the tests take the API's types from) must say what the
header's X-macro lists say.

    python3 tests/check_schema.py [--build DIR] [--schema tests/schema.json]

It compiles tests/schema_dump.c (the header's ICBU_ORDER_TYPES, ICBU_RESPONSE_TYPES,
ICBU_FIELDS_* and, where the header has it, ICBU_METHODS, as the preprocessor expands
them) with $CC, and checks:
  - the method: its name is schema.json's "api", its request parameter is
    "request_param.name", its answer's envelope is "response.envelope";
  - the order: from the request type ("request_param.type" = the method's request
    struct, or the last of ICBU_ORDER_TYPES), every type, field by field and in order:
    wire name, and kind against the API type (STR String, NUM Number, BOOL Boolean,
    DATE Date, OBJ T, OBJS T[], STRS String[]); each struct is one API type and back;
    no type on one side only;
  - the answer: the result type's fields are "response.result.fields", and the
    error_response type's are "response.platform_error.fields".
Prints one line per check, then "N passed, N failed". Python 3 standard library only."""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from checklist import report, finish, tail  # noqa: E402  tests/checklist.py

SCALAR = {"STR": "String", "NUM": "Number", "BOOL": "Boolean", "DATE": "Date", "STRS": "String[]"}


def dump(build):
    os.makedirs(build, exist_ok=True)
    exe = os.path.join(build, "schema_dump")
    cc = os.environ.get("CC", "cc").split()
    p = subprocess.run(cc + ["-std=c99", "-Wall", "-Wextra", "-Werror", "-I", ROOT, "-o", exe,
                             os.path.join(HERE, "schema_dump.c")],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    report(p.returncode == 0, "tests/schema_dump.c compiles against icbu_reflow.h",
           tail(p.stdout.decode("utf-8", "replace")))
    if p.returncode != 0:
        return None
    out = subprocess.run([exe], stdout=subprocess.PIPE, check=True).stdout.decode()
    order, answer, methods = {}, {}, []
    order_names, cur, types = [], None, order
    for line in out.splitlines():
        w = line.split()
        if line == "--":
            types = answer
        elif w[0] == "type":
            cur = w[1]
            types[cur] = []
            if types is order:
                order_names.append(cur)
        elif w[0] == "method":
            methods.append(dict(zip(("id", "name", "param", "request", "envelope", "result", "key"),
                                    w[1:] + [""] * (8 - len(w)))))
        else:
            st, kind, name, sub = w
            types[cur].append((kind, name, sub))
    return order, order_names, answer, methods


def api_type(kind, sub, names):
    """The API type a header field of this kind stands for (names: struct -> API type)."""
    if kind in SCALAR:
        return SCALAR[kind]
    t = names.get(sub, "?%s" % sub)
    return t + "[]" if kind == "OBJS" else t


def compare_fields(what, mine, theirs, names):
    """mine: [(kind, name, sub)]; theirs: [[wire, type, ...]]. Returns the differences."""
    diffs = []
    mn, tn = [f[1] for f in mine], [f[0] for f in theirs]
    for n in mn:
        if n not in tn:
            diffs.append("%s is in the header, not in schema.json" % n)
    for n in tn:
        if n not in mn:
            diffs.append("%s is in schema.json, not in the header" % n)
    if not diffs and mn != tn:
        diffs.append("the fields are in another order: header %s, schema.json %s" % (mn, tn))
    their = {f[0]: f[1] for f in theirs}
    for kind, n, sub in mine:
        if n in their and api_type(kind, sub, names) != their[n]:
            diffs.append("%s is %s %s in the header (%s), %s in schema.json"
                         % (n, kind, sub, api_type(kind, sub, names), their[n]))
    return diffs


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.path.join(os.environ.get("BUILD", os.path.join(ROOT, "build"))))
    ap.add_argument("--schema", default=os.path.join(HERE, "schema.json"))
    a = ap.parse_args()
    with open(a.schema, encoding="utf-8") as f:
        schema = json.load(f)
    got = dump(a.build)
    if got is None:
        return finish()
    order, order_names, answer, methods = got
    method = methods[0] if methods else None

    # the method
    if method:
        report(method["name"] == schema["api"], "method name is schema.json's api",
               "%s / %s" % (method["name"], schema["api"]))
        report(method["param"] == schema["request_param"]["name"],
               "request parameter is schema.json's request_param.name",
               "%s / %s" % (method["param"], schema["request_param"]["name"]))
        report(method["envelope"] == schema["response"]["envelope"],
               "answer envelope is schema.json's response.envelope",
               "%s / %s" % (method["envelope"], schema["response"]["envelope"]))
        root = method["request"]
    else:
        root = order_names[-1]
        with open(os.path.join(ROOT, "icbu_reflow.h"), encoding="utf-8") as f:
            report('"%s"' % schema["api"] in f.read(), "method name %s is in the header" % schema["api"],
                   "not found")
        env = schema["response"]["envelope"]
        report(any(f[1] == env and f[0] == "OBJ" for fs in answer.values() for f in fs),
               "answer envelope %s is a field of the answer's types" % env, "not found")

    # the order, from its root: struct <-> API type, both ways
    names, back, todo, seen = {root: schema["request_param"]["type"]}, {}, [root], []
    back[names[root]] = root
    while todo:
        st = todo.pop(0)
        if st in seen:
            continue
        seen.append(st)
        t = names[st]
        if st not in order:
            report(False, "type %s" % t, "struct icbu_%s is not in ICBU_ORDER_TYPES" % st)
            continue
        if t not in schema["types"]:
            report(False, "type %s" % t, "schema.json has no type %s (struct icbu_%s)" % (t, st))
            continue
        for kind, n, sub in order[st]:
            if kind in ("OBJ", "OBJS"):
                their = dict((f[0], f[1]) for f in schema["types"][t]).get(n)
                if their:
                    tt = their[:-2] if their.endswith("[]") else their
                    if sub not in names and tt not in back:
                        names[sub], back[tt] = tt, sub
                    elif names.get(sub) != tt or back.get(tt) != sub:
                        report(False, "%s.%s" % (t, n), "struct icbu_%s stands for %s elsewhere, %s here"
                               % (sub, names.get(sub) or "?", tt))
                todo.append(sub)
        diffs = compare_fields(t, order[st], schema["types"][t], names)
        report(not diffs, "type %s = struct icbu_%s: %d field%s, names, order and kinds agree"
               % (t, st, len(order[st]), "" if len(order[st]) == 1 else "s"), "; ".join(diffs))
    extra = [s for s in order_names if s not in seen]
    report(not extra, "every type of ICBU_ORDER_TYPES is reached from the request",
           ", ".join("icbu_" + s for s in extra))
    extra = [t for t in schema["types"] if t not in back]
    report(not extra, "every type of schema.json is reached from the request", ", ".join(extra))

    # the answer
    res = method["result"] if method else None
    if res is None:
        res = next((f[2] for fs in answer.values() for f in fs if f[1] == "result" and f[0] == "OBJ"), None)
    rs = schema["response"]["result"]
    if res in answer:
        diffs = compare_fields(rs["type"], answer[res], rs["fields"], {})
        report(not diffs, "answer's result %s = struct icbu_%s: fields agree" % (rs["type"], res), "; ".join(diffs))
    else:
        report(False, "answer's result %s" % rs["type"], "no result type among ICBU_RESPONSE_TYPES")
    pe = schema["response"]["platform_error"]
    if pe["envelope"] in answer:
        diffs = compare_fields(pe["envelope"], answer[pe["envelope"]], pe["fields"], {})
        report(not diffs, "answer's %s = struct icbu_%s: fields agree" % (pe["envelope"], pe["envelope"]),
               "; ".join(diffs))
    else:
        report(False, "answer's %s" % pe["envelope"], "no type %s among ICBU_RESPONSE_TYPES" % pe["envelope"])
    return finish()


if __name__ == "__main__":
    sys.exit(main())
