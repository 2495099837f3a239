#!/usr/bin/python3
"""fake_gcp.py - a fake Google Cloud endpoint for fedbroker's tests (see
README.md, section fake_gcp.py; the code is in the gcp/ package here).

One HTTP server on 127.0.0.1 answers the OAuth2 token endpoint, STS, IAM,
IAM Credentials, Resource Manager, Cloud Run v2 (and the v1 read view gcloud
uses), Cloud Functions v2 with its upload URL, Cloud Scheduler, Pub/Sub,
Secret Manager, Eventarc, the metadata server, and invocation of deployed
services. Every API request is matched against Google's discovery documents
(tests/reference/gcp-discovery) and refused the way Google refuses it.

Run: fake_gcp.py [--port 0] [--port-file F] [--project ID:NUMBER]...
                 [--op-polls N] [--token-lifetime S] [--latency-ms N]
                 [--lenient] [--exit-on-stdin-eof] [--verbose]
It prints "PORT <n>" on stdout once it listens.
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from gcp.server import build  # noqa: E402
import fakeserve  # noqa: E402  (tests/fakes: the announce-and-serve loop every fake shares)

REFERENCE = os.environ.get("FAKE_GCP_REFERENCE",
                           os.path.join(os.path.dirname(HERE), "reference", "gcp-discovery"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--project", action="append",
                    help="a project the fake knows, ID:NUMBER (repeatable; default fb-test-project:424242424242)")
    ap.add_argument("--op-polls", type=int, default=2, help="operations.get calls until an operation is done")
    ap.add_argument("--token-lifetime", type=int, default=3600, help="expires_in of the access tokens it issues")
    ap.add_argument("--latency-ms", type=int, default=0, help="fixed latency added to every request")
    ap.add_argument("--lenient", action="store_true",
                    help="accept what Google accepts but the discovery documents type otherwise (int64 numbers, "
                         "proto field names, output-only fields), reporting it in the log's notes")
    ap.add_argument("--exit-on-stdin-eof", action="store_true", help="exit when stdin closes (the parent died)")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    args.config = {"op_polls": args.op_polls, "token_lifetime": args.token_lifetime, "latency_ms": args.latency_ms}
    if args.lenient:
        args.config.update({"strict": False, "check_output_only": False})
    srv = build(args, REFERENCE)
    port = srv.server_address[1]
    fakeserve.serve(srv, port, args.port_file, args.exit_on_stdin_eof)


if __name__ == "__main__":
    main()
