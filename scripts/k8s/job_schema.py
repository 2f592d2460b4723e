#!/usr/bin/env python3
"""Cuts the batch/v1 Job schema out of the Kubernetes OpenAPI v2 document (swagger.json,
e.g. kubernetes-client/python's kubernetes/swagger.json.unprocessed) into the small file
the test `kubernetes` validates the README's recipe against: every definition the Job
refers to, directly or not, without descriptions.

    python3 scripts/k8s/job_schema.py swagger.json "Kubernetes 1.36" \
        > crates/amva/tests/data/k8s-batch-v1-job.schema.json
"""
import json
import sys

KEEP = {"type", "format", "properties", "required", "items", "additionalProperties", "$ref", "enum"}


def strip(node):
    """The node with only the keywords the validator reads (property names kept as they are)."""
    if isinstance(node, dict):
        return {k: ({p: strip(s) for p, s in v.items()} if k == "properties" else strip(v))
                for k, v in node.items() if k in KEEP}
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node


def refs(node, out):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref":
                out.add(v.rsplit("/", 1)[1])
            else:
                refs(v, out)
    elif isinstance(node, list):
        for v in node:
            refs(v, out)


def main():
    doc = json.load(open(sys.argv[1]))
    defs = doc["definitions"]
    todo, seen = ["io.k8s.api.batch.v1.Job"], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        found = set()
        refs(defs[name], found)
        todo.extend(found - seen)
    out = {
        "source": f"{sys.argv[2]} OpenAPI v2 (swagger.json), Apache-2.0: the definitions"
        " reachable from io.k8s.api.batch.v1.Job, without descriptions",
        "root": "io.k8s.api.batch.v1.Job",
        "definitions": {n: strip(defs[n]) for n in sorted(seen)},
    }
    json.dump(out, sys.stdout, separators=(",", ":"), sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
