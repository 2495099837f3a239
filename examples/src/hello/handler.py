"""A tiny Lambda-style handler: GET /hello?name=Ada -> {"message": "Hello, Ada!"}."""
import json
import os


def handler(event, context):
    params = (event or {}).get("queryStringParameters") or {}
    name = params.get("name", "world")
    greeting = os.environ.get("GREETING", "Hello")
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"message": f"{greeting}, {name}!"}),
    }
