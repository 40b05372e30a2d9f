"""Validates an OpenAPI document with openapi-spec-validator (OpenAPI 3.1) and compares it
with the one a running server serves.

Usage: openapi_check.py FILE BASE_URL
Prints one JSON line: {"valid": true, "served_equal": bool, "content_type": ..., "operations":
[[verb, path, operationId], ...]}. Exits 1 (with the reason on stderr) when the document is
invalid.
"""

import json
import sys

import requests
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError
from openapi_spec_validator.versions.shortcuts import get_spec_version


def main() -> int:
    path, base = sys.argv[1], sys.argv[2]
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    try:
        version = str(get_spec_version(doc))
        validate(doc)
    except OpenAPIValidationError as e:
        print(f"invalid OpenAPI document: {e}", file=sys.stderr)
        return 1
    res = requests.get(base + "/openapi.json", timeout=10)
    ops = [
        [verb, p, op.get("operationId")]
        for p, item in doc["paths"].items()
        for verb, op in item.items()
    ]
    print(
        json.dumps(
            {
                "valid": True,
                "version": version,
                "status": res.status_code,
                "content_type": res.headers.get("content-type"),
                "served_equal": res.status_code == 200 and res.json() == doc,
                "operations": ops,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
