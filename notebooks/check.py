#!/usr/bin/python3
"""Checks executed notebooks for run.sh; plain Python 3 (json, re), no Jupyter modules.

  check.py requires NOTEBOOK          print the paths (relative to the repository) that the notebook needs
                                      and this checkout lacks, one a line (its metadata.bpdl.requires)
  check.py check FRESH COMMITTED      check a fresh execution: no error output, the echarts library and at
                                      least one chart, a printed final accuracy; then that COMMITTED holds
                                      the same deterministic outputs, cell by cell (exit 1: a failure,
                                      exit 3: stale, exit 4: COMMITTED has no outputs recorded)
  check.py record FRESH DEST          write FRESH to DEST without the execution timestamps nbclient adds

Deterministic outputs are each code cell's stdout and stderr text, after dropping lines that start with
"timing:" and replacing durations (0.01s, 12ms, 1m3s) by <t>, and the number of charts each cell shows.
"""
import difflib
import json
import os
import re
import sys

ACCURACY = re.compile(r"final test accuracy: \d+(\.\d+)?%")
DURATION = re.compile(r"\b\d+(\.\d+)?(ns|µs|us|ms|s|m|h)\b")
CHART = "bpdl-chart"
LIBRARY = "bpdl-echarts-library"


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def text(v):
    return "".join(v) if isinstance(v, list) else v


def normalize(s):
    out = []
    for line in s.splitlines():
        if line.startswith("timing:"):
            continue
        out.append(DURATION.sub("<t>", line.rstrip()))
    return "\n".join(out).strip("\n")


def signature(nb):
    """The deterministic outputs of each code cell: (source, stdout, stderr, charts)."""
    sig = []
    for c in nb["cells"]:
        if c["cell_type"] != "code":
            continue
        streams = {"stdout": "", "stderr": ""}
        charts = 0
        for o in c.get("outputs", []):
            if o["output_type"] == "stream":
                streams[o["name"]] = streams.get(o["name"], "") + text(o["text"])
            elif o["output_type"] in ("display_data", "execute_result"):
                if CHART in text(o.get("data", {}).get("text/html", "")):
                    charts += 1
        sig.append((text(c["source"]), normalize(streams["stdout"]), normalize(streams["stderr"]), charts))
    return sig


def has_outputs(nb):
    return any(c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code")


def check(fresh_path, committed_path):
    fresh = load(fresh_path)
    name = os.path.basename(committed_path)
    problems = []
    html = stdout = ""
    for i, c in enumerate(fresh["cells"]):
        for o in c.get("outputs", []):
            if o["output_type"] == "error":
                problems.append("cell %d raised %s: %s" % (i, o.get("ename"), o.get("evalue")))
            elif o["output_type"] == "stream" and o["name"] == "stdout":
                stdout += text(o["text"])
            elif o["output_type"] in ("display_data", "execute_result"):
                html += text(o.get("data", {}).get("text/html", ""))
    if LIBRARY not in html:
        problems.append("no echarts library output (nb.Library)")
    if CHART not in html or "echarts.init(" not in html:
        problems.append("no echarts chart in the outputs")
    if not ACCURACY.search(stdout):
        problems.append("no 'final test accuracy: N%' line printed")
    if problems:
        for p in problems:
            print("%s: FAIL: %s" % (name, p))
        return 1
    committed = load(committed_path)
    if not has_outputs(committed):
        print("%s: NOT RECORDED: the committed notebook has no outputs; run notebooks/run.sh --update %s and commit it" % (name, name))
        return 4
    a, b = signature(committed), signature(fresh)
    if len(a) != len(b):
        print("%s: STALE: %d code cells committed, %d executed" % (name, len(a), len(b)))
        return 3
    stale = False
    for i, (x, y) in enumerate(zip(a, b)):
        for what, u, v in (("source", x[0], y[0]), ("stdout", x[1], y[1]), ("stderr", x[2], y[2]), ("charts", x[3], y[3])):
            if u != v:
                stale = True
                print("%s: STALE: code cell %d, %s differs (- committed, + executed):" % (name, i + 1, what))
                diff = difflib.unified_diff(str(u).splitlines(), str(v).splitlines(), lineterm="", n=1)
                for line in list(diff)[2:60]:
                    print("    " + line)
    if stale:
        print("%s: re-record with: bash notebooks/run.sh --update %s" % (name, name))
        return 3
    print("%s: ok (charts drawn, accuracy printed, outputs match the committed notebook)" % name)
    return 0


def record(fresh_path, dest_path):
    nb = load(fresh_path)
    for c in nb["cells"]:
        c.get("metadata", {}).pop("execution", None)
    with open(dest_path, "w", encoding="utf-8") as f:
        json.dump(nb, f, indent=1, ensure_ascii=False)
        f.write("\n")
    return 0


def requires(path):
    nb = load(path)
    root = os.path.dirname(os.path.dirname(os.path.abspath(path)))
    for r in nb.get("metadata", {}).get("bpdl", {}).get("requires", []):
        if not os.path.exists(os.path.join(root, r)):
            print(r)
    return 0


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "requires" and len(args) == 1:
        sys.exit(requires(*args))
    if cmd == "check" and len(args) == 2:
        sys.exit(check(*args))
    if cmd == "record" and len(args) == 2:
        sys.exit(record(*args))
    print(__doc__, file=sys.stderr)
    sys.exit(2)
