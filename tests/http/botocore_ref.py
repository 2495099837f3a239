#!/usr/bin/python3
"""botocore_ref.py - answers from botocore (the AWS SDK for Python), the
reference the HTTP service's retry policy is checked against.

  botocore_ref.py lists
      {"throttling": [...], "transient": [...], "transient_status": [...]}
      from botocore.retries.standard.
  botocore_ref.py errcodes FILE
      FILE: [{"protocol": "json"|"rest-json"|"query"|"ec2"|"rest-xml",
              "status": N, "headers": {...}, "body": "..."}, ...]
      prints the error code botocore's protocol parser finds in each (or
      null).
  botocore_ref.py simulate FILE
      FILE: {"capacity": N, "max_attempts": M, "requests": [[OUTCOME, ...]]}
      OUTCOME: {"response": {protocol, status, headers, body}} or
               {"exception": "connection" | "timeout"}
      Runs each request through botocore's standard-mode RetryHandler with
      one shared RetryQuota (attempt i gets OUTCOME i, the last one
      repeating) and prints [{"attempts": k, "quota": q}, ...]: how many
      attempts botocore makes and the quota left after each request.
"""
import json
import sys
from types import SimpleNamespace

from botocore import parsers
from botocore.awsrequest import AWSResponse
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
from botocore.retries import quota, standard


def parse_code(r):
    parser = parsers.create_parser(r["protocol"])
    parsed = parser.parse(
        {
            "status_code": r["status"],
            "headers": r.get("headers", {}),
            "body": r.get("body", "").encode(),
        },
        None,
    )
    code = parsed.get("Error", {}).get("Code")
    return code or None, parsed


def cmd_lists():
    print(json.dumps({
        "throttling": standard.ThrottledRetryableChecker._THROTTLED_ERROR_CODES,
        "transient": standard.TransientRetryableChecker._TRANSIENT_ERROR_CODES,
        "transient_status": standard.TransientRetryableChecker._TRANSIENT_STATUS_CODES,
    }))


def cmd_errcodes(path):
    with open(path) as f:
        cases = json.load(f)
    print(json.dumps([parse_code(c)[0] for c in cases]))


def cmd_simulate(path):
    with open(path) as f:
        spec = json.load(f)
    checker = standard.RetryQuotaChecker(quota.RetryQuota(spec["capacity"]))
    policy = standard.RetryPolicy(
        retry_checker=standard.StandardRetryConditions(max_attempts=spec["max_attempts"]),
        retry_backoff=standard.ExponentialBackoff(),
    )
    handler = standard.RetryHandler(
        retry_policy=policy,
        retry_event_adapter=standard.RetryEventAdapter(),
        retry_quota=checker,
    )
    # An operation of a service without special retry rules and without
    # modeled retryable errors: only the standard conditions apply.
    op = SimpleNamespace(service_model=SimpleNamespace(service_name="lambda"),
                         error_shapes=[], name="Invoke")
    out = []
    for outcomes in spec["requests"]:
        ctx = {}
        attempt = 0
        while True:
            attempt += 1
            o = outcomes[min(attempt, len(outcomes)) - 1]
            if "exception" in o:
                http_response, response = None, None
                if o["exception"] == "timeout":
                    exc = ReadTimeoutError(endpoint_url="http://127.0.0.1/")
                else:
                    exc = EndpointConnectionError(endpoint_url="http://127.0.0.1/")
            else:
                r = o["response"]
                _, parsed = parse_code(r)
                http_response = AWSResponse("http://127.0.0.1/", r["status"], r.get("headers", {}), None)
                response, exc = (http_response, parsed), None
            delay = handler.needs_retry(
                response=response,
                attempts=attempt,
                operation=op,
                caught_exception=exc,
                request_dict={"context": ctx},
            )
            if delay is None:
                # botocore's after-call event: only when a response came back.
                checker.release_retry_quota(ctx, http_response)
                break
        out.append({"attempts": attempt, "quota": checker._quota.available_capacity})
    print(json.dumps(out))


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "lists":
        cmd_lists()
    elif len(sys.argv) == 3 and sys.argv[1] == "errcodes":
        cmd_errcodes(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "simulate":
        cmd_simulate(sys.argv[2])
    else:
        sys.stderr.write(__doc__)
        sys.exit(64)


if __name__ == "__main__":
    main()
