#!/bin/sh
# The conformance kit (`fedbroker drivers test`, through the real CLI) on the
# staged quantum driver: 0 FAIL lines with the default settings (the kit
# then checks the local simulator, the first offer), with non-default
# settings, and with only Braket or only IBM enabled (the kit then drives
# those backends' dry runs; credentials are fake test values from the
# environment, nothing is sent).
set -u
fail=0
so="$FEDBROKER_DRIVER_PATH/quantum.so"
run() { # label settings [env assignments...]
    label=$1 settings=$2
    shift 2
    out=$(env "$@" "$FEDBROKER" drivers test --settings "$settings" "$so" 2>&1); rc=$?
    echo "$out"
    if echo "$out" | grep -q '^FAIL'; then
        echo "FAIL: $label: the kit reports failures"; fail=1
    elif [ $rc -ne 0 ]; then
        echo "FAIL: $label: exit $rc"; fail=1
    elif ! echo "$out" | grep -q '^PASS QuantumJob: destroy is idempotent'; then
        echo "FAIL: $label: the kit did not reach the deploy checks"; fail=1
    else
        echo "ok: $label passes the kit"
    fi
}
if [ ! -f "$so" ]; then
    echo "FAIL: quantum.so is not staged in $FEDBROKER_DRIVER_PATH"; exit 1
fi
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
none="HOME=$home AWS_CONFIG_FILE=$home/none AWS_SHARED_CREDENTIALS_FILE=$home/none"
run defaults '{}' $none
run settings '{"memoryLimit": "256Mi", "queueSeconds": {"local": 1}, "braket": {"regions": ["eu-west-2"], "outputS3Bucket": "fedbroker-kit"}, "ibm": {"serviceCrn": "crn:v1:bluemix:public:quantum-computing:us-east:a/kit:kit::"}}' $none
run braket-only '{"backends": ["braket"], "braket": {"outputS3Bucket": "fedbroker-kit"}}' $none \
    AWS_ACCESS_KEY_ID=AKIDFAKEEXAMPLE00001 AWS_SECRET_ACCESS_KEY=fakeSecretKey/EXAMPLE+00001+fedbrokerTEST
run ibm-only '{"backends": ["ibm"], "ibm": {"serviceCrn": "crn:v1:bluemix:public:quantum-computing:us-east:a/kit:kit::"}}' $none \
    IQP_API_TOKEN=fake-ibm-api-key-0001
exit $fail
