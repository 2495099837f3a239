#!/bin/sh
# The conformance kit on the real aws.so through the CLI: every check must
# PASS (the kit's fake host answers every request with 404, then 500).
# Credentials come from the environment (the kit's host has none of its own).
set -u
settings='{"regions":["us-east-1","eu-west-1"],"lambda":{"role":"arn:aws:iam::123456789012:role/fn"},"ecs":{"subnets":["subnet-1"]}}'
out=$(AWS_ACCESS_KEY_ID=AKIDFAKEEXAMPLE00001 AWS_SECRET_ACCESS_KEY=notARealSecret \
      "$FEDBROKER" drivers test "$FEDBROKER_DRIVER_PATH/aws.so" --settings "$settings" 2>&1)
rc=$?
echo "$out"
if [ $rc -ne 0 ] || echo "$out" | grep -q '^FAIL' || ! echo "$out" | grep -q ' 0 failed'; then
    echo "FAIL: aws.so does not pass the conformance kit"; exit 1
fi
n=$(echo "$out" | grep -c '^PASS')
[ "$n" -ge 40 ] || { echo "FAIL: only $n checks passed (expected at least 40)"; exit 1; }
echo "ok: aws.so passes the conformance kit ($n checks)"
