#!/usr/bin/env python3
"""Generate crates/cairn/src/runtime/resources/aws/services.gz, the compact service table the
generic `arn:aws:states:::aws-sdk:<service>:<action>` integration serialises with.

Run when botocore changes (botocore in any venv, e.g. target/venv2):
    target/venv2/bin/python scripts/gen-aws-services.py crates/cairn/src/runtime/resources/aws/services.gz

The output is gzip of one line per service, `<sdk name>\t<json>`, sorted by name, where the
sdk name is what the Resource ARN uses (the service id, lower case, without spaces: `dynamodb`,
`secretsmanager`, `eventbridge`, `sfn`). Each service's JSON keeps only what the wire needs:
    {"p": protocol, "v": apiVersion, "t": targetPrefix, "j": jsonVersion, "s": signingName,
     "x": endpointPrefix, "id": serviceId, "e": error prefix (DynamoDb, S3, SecretsManager),
     "o": {OperationName: [method, requestUri, input shape|null, output shape|null,
                             resultWrapper|null]},
     "r": {error code: error shape name}, "h": {shape: shape}}
A member's target is a shape name, or a scalar inline as `~code` ("s" string, "i" integer or
long, "f" float or double, "b" boolean, "B" blob, "t" timestamp); only aggregate shapes are
listed, trailing null/0 fields dropped:
    ["S", {member: [target, location|null, locationName|null, flags]}, payload|null, xmlNs|null]
    ["L", member target, memberLocationName|null, flattened(0/1)]
    ["M", key target, value target, keyName|null, valueName|null, flattened(0/1)]
flags: 1 = xmlAttribute, 2 = flattened, 4 = jsonvalue (header), 8 = idempotencyToken.
Timestamps keep their format as "t:iso8601" / "t:unixTimestamp" / "t:rfc822" when set.
"""
import gzip
import json
import os
import re
import sys

import botocore

SCALARS = {
    "string": "s",
    "integer": "i",
    "long": "i",
    "short": "i",
    "byte": "i",
    "float": "f",
    "double": "f",
    "bigdecimal": "f",
    "biginteger": "i",
    "boolean": "b",
    "blob": "B",
    "timestamp": "t",
}


def error_prefix(service_id):
    """The Java SDK v2 client name AWS prefixes error codes with: each word of the service id
    (split at spaces and at the end of upper-case runs) capitalised, the rest lower case:
    DynamoDB -> DynamoDb, Secrets Manager -> SecretsManager, SFN -> Sfn, EC2 -> Ec2."""
    words = []
    for part in re.split(r"[\s\-_]+", service_id):
        words += re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+|[0-9]+", part)
    return "".join(w[:1].upper() + w[1:].lower() for w in words if w)


def compact(model):
    meta = model["metadata"]
    shapes = model["shapes"]
    needed = {}

    def visit(name):
        if name in needed:
            return
        s = shapes[name]
        t = s["type"]
        if t in SCALARS:
            code = SCALARS[t]
            if t == "timestamp" and "timestampFormat" in s:
                code += ":" + s["timestampFormat"]
            if t == "string" and s.get("jsonvalue"):
                code = "s"
            needed[name] = code
            return
        needed[name] = None  # placeholder against cycles
        if t == "structure":
            members = {}
            for m, ms in s.get("members", {}).items():
                visit(ms["shape"])
                flags = (
                    (1 if ms.get("xmlAttribute") else 0)
                    | (2 if ms.get("flattened") or shapes[ms["shape"]].get("flattened") else 0)
                    | (4 if ms.get("jsonvalue") else 0)
                    | (8 if ms.get("idempotencyToken") else 0)
                )
                members[m] = [ms["shape"], ms.get("location"), ms.get("locationName"), flags]
            ns = s.get("xmlNamespace", {}).get("uri") if isinstance(s.get("xmlNamespace"), dict) else None
            needed[name] = ["S", members, s.get("payload"), ns]
        elif t == "list":
            m = s["member"]
            visit(m["shape"])
            needed[name] = ["L", m["shape"], m.get("locationName"), 1 if s.get("flattened") else 0]
        elif t == "map":
            visit(s["key"]["shape"])
            visit(s["value"]["shape"])
            needed[name] = [
                "M",
                s["key"]["shape"],
                s["value"]["shape"],
                s["key"].get("locationName"),
                s["value"].get("locationName"),
                1 if s.get("flattened") else 0,
            ]
        else:
            needed[name] = "s"

    def ref(name):
        """A member's target: a scalar inline as `~code`, anything else by shape name."""
        v = needed[name]
        return "~" + v if isinstance(v, str) else name

    def trim(a):
        while a and a[-1] in (None, 0):
            a.pop()
        return a

    ops = {}
    for name, op in model["operations"].items():
        http = op.get("http", {})
        inp = op.get("input", {}).get("shape")
        out = op.get("output", {}).get("shape")
        for s in (inp, out):
            if s:
                visit(s)
        ops[name] = [
            http.get("method", "POST"),
            http.get("requestUri", "/"),
            inp,
            out,
            op.get("output", {}).get("resultWrapper"),
        ]
    for name, v in list(needed.items()):
        if isinstance(v, str):
            continue
        if v[0] == "S":
            v[1] = {m: trim([ref(a[0])] + a[1:]) for m, a in v[1].items()}
            needed[name] = trim(v)
        elif v[0] == "L":
            v[1] = ref(v[1])
            needed[name] = trim(v)
        else:
            v[1], v[2] = ref(v[1]), ref(v[2])
            needed[name] = trim(v)
    needed = {k: v for k, v in needed.items() if not isinstance(v, str)}
    for o in ops.values():
        for i in (2, 3):
            if o[i] and o[i] not in needed:
                o[i] = "~" + SCALARS.get(model["shapes"][o[i]]["type"], "s")
        trim(o)
    service_id = meta.get("serviceId") or meta.get("serviceAbbreviation") or meta["endpointPrefix"]
    return {
        "p": meta["protocol"],
        "v": meta.get("apiVersion"),
        "t": meta.get("targetPrefix"),
        "j": meta.get("jsonVersion"),
        "s": meta.get("signingName") or meta["endpointPrefix"],
        "x": meta["endpointPrefix"],
        "id": service_id,
        "e": error_prefix(service_id),
        "o": ops,
        # Modeled errors: code on the wire -> shape name (the same unless awsQueryError says).
        "r": {
            (sh.get("error", {}).get("code") or n): n
            for n, sh in model["shapes"].items()
            if sh.get("exception")
        },
        "h": needed,
    }


def main(out):
    data = os.path.join(os.path.dirname(botocore.__file__), "data")
    lines = []
    for service in sorted(os.listdir(data)):
        d = os.path.join(data, service)
        if not os.path.isdir(d):
            continue
        versions = sorted(v for v in os.listdir(d) if os.path.exists(os.path.join(d, v, "service-2.json.gz")) or os.path.exists(os.path.join(d, v, "service-2.json")))
        if not versions:
            continue
        base = os.path.join(d, versions[-1], "service-2.json")
        model = json.load(gzip.open(base + ".gz") if os.path.exists(base + ".gz") else open(base))
        c = compact(model)
        sdk_name = re.sub(r"[\s\-_]", "", c["id"]).lower()
        lines.append(f"{sdk_name}\t{json.dumps(c, separators=(',', ':'))}")
    lines.sort()
    with gzip.GzipFile(out, "wb", mtime=0, compresslevel=9) as f:
        f.write(("\n".join(lines) + "\n").encode())
    print(f"{len(lines)} services, {os.path.getsize(out)} bytes", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1])
