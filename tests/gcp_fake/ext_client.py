"""ext_client.py - run by test_external_account.py under the Python that
gcloud bundles, with gcloud's copy of google-auth (2.x; Debian 12's 1.5.1
predates external accounts): load an external-account credential file
(identity_pool or aws, chosen from its credential_source), refresh it, and
print the token as JSON, or the error and exit 3.

The classes are used directly: google.auth.load_credentials_from_file would
also look the project up at cloudresourcemanager.googleapis.com, which a
test on loopback cannot reach."""
import json
import sys

import google.auth
import google.auth.aws
import google.auth.exceptions
import google.auth.identity_pool
import google.auth.transport.requests as gr

SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
try:
    with open(sys.argv[1]) as f:
        info = json.load(f)
    if (info.get("credential_source") or {}).get("environment_id", "").startswith("aws"):
        creds = google.auth.aws.Credentials.from_info(info, scopes=SCOPES)
    else:
        creds = google.auth.identity_pool.Credentials.from_info(info, scopes=SCOPES)
    creds.refresh(gr.Request())
except (google.auth.exceptions.GoogleAuthError, ValueError) as e:
    print(json.dumps({"error": str(e), "type": type(e).__name__}))
    sys.exit(3)
print(json.dumps({"token": creds.token, "expiry": creds.expiry.isoformat(), "version": google.auth.__version__,
                  "class": type(creds).__module__ + "." + type(creds).__name__}))
