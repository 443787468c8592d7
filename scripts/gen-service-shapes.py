#!/usr/bin/env python3
"""Generate crates/cairn/src/api/service-shapes.json: the OUTPUT shapes of AWS operations,
from botocore's service models, for TestState's mock validation (fieldValidationMode).

Run when botocore changes (botocore installed in any venv of your own):
    python3 -m venv target/venv2 && target/venv2/bin/pip install botocore
    target/venv2/bin/python scripts/gen-service-shapes.py > crates/cairn/src/api/service-shapes.json

Only what validation needs is kept: for each operation the name of its output shape, and
for each shape reachable from an output its kind and constraints. Kinds: "s" structure
(members "m", required "r"), "l" list (member "e"), "m" map (value "v"), "str", "int",
"num" (float, double, long), "bool", "ts" (timestamp), "blob"; "min"/"max" as botocore
has them. Documentation, errors and inputs are dropped.

Which services: every optimized integration's service plus the most used aws-sdk
services (SERVICES below); all 400+ services would be several tens of MB.
"""
import json
import sys

import botocore.loaders
import botocore.session

SERVICES = [
    # optimized integrations
    "lambda", "dynamodb", "sns", "sqs", "events", "stepfunctions", "ecs", "batch", "glue",
    "sagemaker", "athena", "codebuild", "eks", "emr", "emr-containers", "emr-serverless",
    "bedrock", "bedrock-runtime", "mediaconvert", "apigateway", "databrew",
    # most used through aws-sdk
    "s3", "kms", "secretsmanager", "ssm", "sts", "iam", "ec2", "cloudwatch", "logs",
    "sesv2", "ses", "textract", "comprehend", "rekognition", "translate", "kinesis",
    "firehose", "cloudformation", "route53", "acm", "cognito-idp", "xray",
]

KINDS = {
    "structure": "s", "list": "l", "map": "m", "string": "str", "integer": "int",
    "long": "num", "float": "num", "double": "num", "boolean": "bool",
    "timestamp": "ts", "blob": "blob",
}


def service_shapes(loader, name):
    model = loader.load_service_model(name, "service-2")
    shapes = model["shapes"]
    ops = {}
    keep = {}

    def walk(n):
        if n in keep:
            return
        s = shapes[n]
        out = {"k": KINDS.get(s["type"], "str")}
        keep[n] = out
        for c in ("min", "max"):
            if c in s and s["type"] != "structure":
                out[c] = s[c]
        if s["type"] == "structure":
            out["m"] = {m: v["shape"] for m, v in s.get("members", {}).items()}
            if s.get("required"):
                out["r"] = s["required"]
            for v in s.get("members", {}).values():
                walk(v["shape"])
        elif s["type"] == "list":
            out["e"] = s["member"]["shape"]
            walk(s["member"]["shape"])
        elif s["type"] == "map":
            out["v"] = s["value"]["shape"]
            walk(s["value"]["shape"])

    for op, o in sorted(model["operations"].items()):
        if "output" in o:
            ops[op] = o["output"]["shape"]
            walk(o["output"]["shape"])
    return {"ops": ops, "shapes": dict(sorted(keep.items()))}


def main():
    loader = botocore.loaders.create_loader()
    out = {
        "botocore": botocore.__version__,
        "services": {s: service_shapes(loader, s) for s in SERVICES},
    }
    json.dump(out, sys.stdout, separators=(",", ":"), sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    import botocore  # noqa: F401  (version above)
    main()
