#!/usr/bin/python3
"""Tests of tests/fakes/fake_aws.py with botocore as the client.

botocore (Debian's python3-botocore) serialises and signs every request
itself and parses every answer with its own models, so these tests check
the fake against code we did not write: the round trips for Lambda, ECS,
Application Auto Scaling, STS and Braket; that wrong signatures, tampered
bodies and invalid parameters are refused; and the fault/latency controls.
"""
import base64
import hashlib
import io
import json
import os
import socket
import subprocess
import sys
import time
import unittest
import urllib.request
import zipfile

import botocore.auth
import botocore.session
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(HERE, "fake_aws.py")
AK, SK = "AKIDFAKEEXAMPLE00001", "fakeSecretKey/EXAMPLE+00001+fedbrokerTEST"
ROLE = "arn:aws:iam::123456789012:role/fedbroker-lambda"
BRAKET_EXAMPLE = os.path.join(HERE, "reference", "braket", "CreateQuantumTask.request.example.json")


def start_fake(*extra):
    p = subprocess.Popen([sys.executable, FAKE, "--port", "0", "--exit-on-stdin-eof", *extra],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    line = p.stdout.readline().decode()
    if not line.startswith("PORT "):
        p.kill()
        raise RuntimeError(f"fake did not start: {line!r}")
    return p, int(line.split()[1])


def zip_bytes(body="return {'ok': True}"):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w") as z:  # fixed time: the same code gives the same bytes
        z.writestr(zipfile.ZipInfo("app.py", (2020, 1, 1, 0, 0, 0)),
                   f"def handler(event, context):\n    {body}\n")
    return b.getvalue()


def code_sha256(data):
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


class FakeAwsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.proc, cls.port = start_fake()
        cls.url = f"http://127.0.0.1:{cls.port}"
        cls.session = botocore.session.get_session()

    @classmethod
    def tearDownClass(cls):
        cls.proc.stdin.close()
        cls.proc.stdout.close()
        cls.proc.wait(timeout=10)

    def setUp(self):
        self.control("POST", "reset")

    def client(self, service, ak=AK, sk=SK, token=None, validate=True, region="us-east-1"):
        return self.session.create_client(
            service, region_name=region, endpoint_url=self.url, aws_access_key_id=ak,
            aws_secret_access_key=sk, aws_session_token=token,
            config=Config(retries={"total_max_attempts": 1, "mode": "standard"},
                          parameter_validation=validate, connect_timeout=5, read_timeout=10))

    def control(self, method, what, doc=None):
        data = json.dumps(doc).encode() if doc is not None else None
        req = urllib.request.Request(f"{self.url}/__fake/{what}", data=data, method=method)
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def assertCode(self, cm, code, status=None):
        err = cm.exception.response["Error"]
        self.assertEqual(err["Code"], code, err)
        if status is not None:
            self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], status)
        return err["Message"]

    # ---- Lambda -----------------------------------------------------------------
    def test_lambda_round_trip(self):
        lam = self.client("lambda")
        cfg = lam.create_function(FunctionName="fb-hello", Runtime="python3.9", Role=ROLE,
                                  Handler="app.handler", Code={"ZipFile": zip_bytes()},
                                  MemorySize=256, Environment={"Variables": {"AA": "1"}},
                                  Tags={"fedbroker:managed": "true"})
        self.assertEqual(cfg["FunctionArn"], "arn:aws:lambda:us-east-1:123456789012:function:fb-hello")
        self.assertEqual(cfg["MemorySize"], 256)
        with self.assertRaises(ClientError) as cm:
            lam.create_function(FunctionName="fb-hello", Runtime="python3.9", Role=ROLE,
                                Handler="app.handler", Code={"ZipFile": zip_bytes()})
        self.assertCode(cm, "ResourceConflictException", 409)
        got = lam.get_function(FunctionName="fb-hello")
        self.assertEqual(got["Configuration"]["Environment"]["Variables"], {"AA": "1"})
        self.assertEqual(got["Tags"], {"fedbroker:managed": "true"})
        # by ARN too
        lam.get_function(FunctionName=cfg["FunctionArn"])
        up = lam.update_function_configuration(FunctionName="fb-hello", MemorySize=512, Timeout=30)
        self.assertEqual((up["MemorySize"], up["Timeout"]), (512, 30))
        self.assertEqual(cfg["CodeSha256"], code_sha256(zip_bytes()))
        new_zip = zip_bytes("return 2")
        code = lam.update_function_code(FunctionName="fb-hello", ZipFile=new_zip)
        self.assertEqual((code["CodeSha256"], code["CodeSize"]), (code_sha256(new_zip), len(new_zip)))
        url = lam.create_function_url_config(FunctionName="fb-hello", AuthType="NONE")
        self.assertTrue(url["FunctionUrl"].endswith(".lambda-url.us-east-1.on.aws/"))
        self.assertEqual(lam.get_function_url_config(FunctionName="fb-hello")["FunctionUrl"], url["FunctionUrl"])
        with self.assertRaises(ClientError) as cm:
            lam.create_function_url_config(FunctionName="fb-hello", AuthType="NONE")
        self.assertCode(cm, "ResourceConflictException", 409)
        lam.add_permission(FunctionName="fb-hello", StatementId="url", Action="lambda:InvokeFunctionUrl",
                           Principal="*", FunctionUrlAuthType="NONE")
        lam.tag_resource(Resource=cfg["FunctionArn"], Tags={"team": "platform"})
        self.assertEqual(lam.list_tags(Resource=cfg["FunctionArn"])["Tags"],
                         {"fedbroker:managed": "true", "team": "platform"})
        names = [f["FunctionName"] for f in lam.list_functions()["Functions"]]
        self.assertEqual(names, ["fb-hello"])
        # another region is another namespace
        self.assertEqual(self.client("lambda", region="eu-west-1").list_functions()["Functions"], [])
        lam.delete_function(FunctionName="fb-hello")
        with self.assertRaises(ClientError) as cm:
            lam.get_function(FunctionName="fb-hello")
        self.assertCode(cm, "ResourceNotFoundException", 404)
        with self.assertRaises(ClientError) as cm:
            lam.delete_function(FunctionName="fb-hello")
        self.assertCode(cm, "ResourceNotFoundException", 404)

    def test_lambda_pagination(self):
        lam = self.client("lambda")
        for i in range(5):
            lam.create_function(FunctionName=f"f{i}", Runtime="python3.9", Role=ROLE,
                                Handler="a.b", Code={"ZipFile": zip_bytes()})
        pages = list(lam.get_paginator("list_functions").paginate(PaginationConfig={"PageSize": 2}))
        self.assertEqual(len(pages), 3)
        self.assertEqual([f["FunctionName"] for p in pages for f in p["Functions"]],
                         ["f0", "f1", "f2", "f3", "f4"])

    def test_lambda_invalid_bodies(self):
        lam = self.client("lambda")
        base = dict(FunctionName="ok", Runtime="python3.9", Role=ROLE, Handler="a.b",
                    Code={"ZipFile": zip_bytes()})
        cases = [
            (dict(base, MemorySize=40000), "MemorySize", "value less than or equal to"),
            (dict(base, Environment={"Variables": {"1x": "v"}}), "Environment.Variables", "regular expression"),
            (dict(base, FunctionName="bad name!"), "FunctionName", "regular expression"),
            (dict(base, Runtime="python9.9"), "Runtime", "enum"),
            (dict(base, Role="not-an-arn"), "Role", "regular expression"),
            (dict(base, Description="x" * 300), "Description", "length less than or equal to 256"),
        ]
        for params, field, why in cases:
            with self.subTest(field=field):
                with self.assertRaises(ClientError) as cm:
                    lam.create_function(**params)
                msg = self.assertCode(cm, "ValidationException", 400)
                self.assertIn(field, msg)
                self.assertIn(why, msg)
        # what botocore would refuse client-side, sent anyway
        raw = self.client("lambda", validate=False)
        with self.assertRaises(ClientError) as cm:
            raw.create_function(FunctionName="x", Runtime="python3.9", Handler="a.b",
                                Code={"ZipFile": zip_bytes()})
        self.assertIn('Missing required parameter in input: "Role"', self.assertCode(cm, "ValidationException", 400))
        body = json.dumps({"FunctionName": "x", "Runtime": "python3.9", "Role": ROLE, "Handler": "a.b",
                           "Code": {"ZipFile": "UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA=="}, "Bogus": 1}).encode()
        st, out = self.raw("POST", "/2015-03-31/functions", body, {"Content-Type": "application/json"})
        self.assertEqual(st, 400)
        self.assertIn(b"Bogus", out)
        self.assertEqual(json.loads(out)["__type"], "ValidationException")
        with self.assertRaises(ClientError) as cm:
            lam.create_function(**dict(base, Code={"ZipFile": b"not a zip"}))
        self.assertCode(cm, "InvalidParameterValueException", 400)
        self.assertEqual(self.control("GET", "state")["lambda"], {})

    # ---- ECS + Application Auto Scaling -------------------------------------------
    def test_ecs_and_autoscaling_round_trip(self):
        ecs = self.client("ecs")
        td = dict(family="web", networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
                  cpu="512", memory="1024",
                  containerDefinitions=[{"name": "app", "image": "nginx:1.25", "essential": True,
                                         "portMappings": [{"containerPort": 80}]}])
        with self.assertRaises(ClientError) as cm:
            ecs.register_task_definition(**dict(td, cpu="256", memory="4096"))
        self.assertIn("No Fargate configuration exists", self.assertCode(cm, "ClientException", 400))
        r1 = ecs.register_task_definition(**td)["taskDefinition"]
        r2 = ecs.register_task_definition(**dict(td, memory="2 GB"))["taskDefinition"]
        self.assertEqual((r1["revision"], r2["revision"]), (1, 2))
        net = {"awsvpcConfiguration": {"subnets": ["subnet-0abc"], "assignPublicIp": "ENABLED"}}
        with self.assertRaises(ClientError) as cm:
            ecs.create_service(cluster="fb", serviceName="web", taskDefinition="web", desiredCount=2,
                               launchType="FARGATE")
        self.assertCode(cm, "InvalidParameterException", 400)
        svc = ecs.create_service(cluster="fb", serviceName="web", taskDefinition="web:1",
                                 desiredCount=2, launchType="FARGATE", networkConfiguration=net,
                                 tags=[{"key": "fedbroker:managed", "value": "true"}])["service"]
        self.assertEqual(svc["serviceArn"], "arn:aws:ecs:us-east-1:123456789012:service/fb/web")
        with self.assertRaises(ClientError) as cm:
            ecs.create_service(cluster="fb", serviceName="web", taskDefinition="web:1",
                               desiredCount=2, launchType="FARGATE", networkConfiguration=net)
        self.assertCode(cm, "InvalidParameterException")
        self.assertEqual(ecs.list_services(cluster="fb")["serviceArns"], [svc["serviceArn"]])

        aas = self.client("application-autoscaling")
        rid = "service/fb/web"
        aas.register_scalable_target(ServiceNamespace="ecs", ResourceId=rid,
                                     ScalableDimension="ecs:service:DesiredCount", MinCapacity=1, MaxCapacity=4)
        pol = aas.put_scaling_policy(
            PolicyName="cpu50", ServiceNamespace="ecs", ResourceId=rid,
            ScalableDimension="ecs:service:DesiredCount", PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": 50.0,
                "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}})
        self.assertIn("policyName/cpu50", pol["PolicyARN"])
        tg = aas.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]
        self.assertEqual([(t["ResourceId"], t["MinCapacity"], t["MaxCapacity"]) for t in tg], [(rid, 1, 4)])
        with self.assertRaises(ClientError) as cm:
            aas.register_scalable_target(ServiceNamespace="ecs", ResourceId="service/fb/nope",
                                         ScalableDimension="ecs:service:DesiredCount", MinCapacity=1, MaxCapacity=2)
        self.assertCode(cm, "ValidationException", 400)

        up = ecs.update_service(cluster="fb", service="web", taskDefinition="web:2", desiredCount=3)["service"]
        self.assertEqual((up["desiredCount"], up["taskDefinition"]), (3, r2["taskDefinitionArn"]))
        d = ecs.describe_services(cluster="fb", services=["web", "ghost"])
        self.assertEqual([s["serviceName"] for s in d["services"]], ["web"])
        self.assertEqual(d["failures"][0]["reason"], "MISSING")
        with self.assertRaises(ClientError) as cm:
            ecs.delete_service(cluster="fb", service="web")
        self.assertCode(cm, "InvalidParameterException")
        aas.deregister_scalable_target(ServiceNamespace="ecs", ResourceId=rid,
                                       ScalableDimension="ecs:service:DesiredCount")
        with self.assertRaises(ClientError) as cm:
            aas.deregister_scalable_target(ServiceNamespace="ecs", ResourceId=rid,
                                           ScalableDimension="ecs:service:DesiredCount")
        self.assertCode(cm, "ObjectNotFoundException")
        self.assertEqual(ecs.delete_service(cluster="fb", service="web", force=True)["service"]["status"], "DRAINING")
        self.assertEqual(ecs.describe_services(cluster="fb", services=["web"])["services"][0]["status"], "DRAINING")
        self.assertEqual(ecs.describe_services(cluster="fb", services=["web"])["services"][0]["status"], "INACTIVE")
        self.assertEqual(ecs.list_services(cluster="fb")["serviceArns"], [])
        with self.assertRaises(ClientError) as cm:
            ecs.update_service(cluster="fb", service="web", desiredCount=1)
        self.assertCode(cm, "ServiceNotActiveException")
        self.assertEqual(ecs.deregister_task_definition(taskDefinition="web:1")["taskDefinition"]["status"], "INACTIVE")

    def test_ecs_invalid(self):
        ecs = self.client("ecs")
        with self.assertRaises(ClientError) as cm:  # enum
            ecs.register_task_definition(family="x", networkMode="bogus",
                                         containerDefinitions=[{"name": "a", "image": "b"}])
        self.assertIn("networkMode", self.assertCode(cm, "ValidationException", 400))
        with self.assertRaises(ClientError) as cm:
            ecs.register_task_definition(family="x", containerDefinitions=[{"name": "a"}])
        self.assertIn("image", self.assertCode(cm, "ClientException", 400))

    # ---- STS ------------------------------------------------------------------------
    def test_sts_assume_role_and_identity(self):
        sts = self.client("sts")
        self.assertEqual(sts.get_caller_identity()["Arn"], "arn:aws:iam::123456789012:user/fedbroker-test")
        r = sts.assume_role(RoleArn=ROLE, RoleSessionName="fb-test", DurationSeconds=900, ExternalId="ext-1")
        c = r["Credentials"]
        self.assertTrue(c["AccessKeyId"].startswith("ASIA"))
        self.assertEqual(r["AssumedRoleUser"]["Arn"], "arn:aws:sts::123456789012:assumed-role/fedbroker-lambda/fb-test")
        tmp = self.client("sts", ak=c["AccessKeyId"], sk=c["SecretAccessKey"], token=c["SessionToken"])
        self.assertEqual(tmp.get_caller_identity()["Arn"], r["AssumedRoleUser"]["Arn"])
        # the session token is part of the credential
        bad = self.client("sts", ak=c["AccessKeyId"], sk=c["SecretAccessKey"], token="wrong")
        with self.assertRaises(ClientError) as cm:
            bad.get_caller_identity()
        self.assertCode(cm, "InvalidClientTokenId", 403)
        self.control("POST", "roles", {"arn": ROLE + "-x", "external_id": "right"})
        with self.assertRaises(ClientError) as cm:
            sts.assume_role(RoleArn=ROLE + "-x", RoleSessionName="s1", ExternalId="wrong")
        self.assertCode(cm, "AccessDenied", 403)
        with self.assertRaises(ClientError) as cm:  # DurationSeconds below the model's min
            self.client("sts", validate=False).assume_role(RoleArn=ROLE, RoleSessionName="s1", DurationSeconds=60)
        self.assertIn("DurationSeconds", self.assertCode(cm, "ValidationException", 400))

    def test_sts_web_identity_is_unsigned(self):
        sts = self.client("sts")
        r = sts.assume_role_with_web_identity(RoleArn=ROLE, RoleSessionName="wi", WebIdentityToken="eyJ.fake.jwt")
        self.assertTrue(r["Credentials"]["SessionToken"])
        log = self.control("GET", "log")
        entry = [e for e in log if e.get("operation") == "AssumeRoleWithWebIdentity"][-1]
        self.assertFalse(any(k.lower() == "authorization" for k, _ in entry["headers"]))
        with self.assertRaises(ClientError) as cm:
            sts.assume_role_with_web_identity(RoleArn=ROLE, RoleSessionName="wi", WebIdentityToken="invalid")
        self.assertCode(cm, "InvalidIdentityToken", 400)

    # ---- Braket -----------------------------------------------------------------------
    def test_braket_round_trip(self):
        br = self.client("braket")
        with open(BRAKET_EXAMPLE) as f:
            req = json.load(f)
        arn = br.create_quantum_task(**req)["quantumTaskArn"]
        self.assertEqual(br.create_quantum_task(**req)["quantumTaskArn"], arn)  # clientToken
        states = [br.get_quantum_task(quantumTaskArn=arn)["status"] for _ in range(4)]
        self.assertEqual(states, ["QUEUED", "RUNNING", "COMPLETED", "COMPLETED"])
        with self.assertRaises(ClientError) as cm:
            br.cancel_quantum_task(quantumTaskArn=arn, clientToken="c1")
        self.assertCode(cm, "ConflictException", 409)
        arn2 = br.create_quantum_task(**dict(req, clientToken="another-token-000000000000000001"))["quantumTaskArn"]
        self.assertEqual(br.cancel_quantum_task(quantumTaskArn=arn2, clientToken="c2")["cancellationStatus"], "CANCELLING")
        self.assertEqual(br.get_quantum_task(quantumTaskArn=arn2)["status"], "CANCELLED")
        with self.assertRaises(ClientError) as cm:
            br.get_quantum_task(quantumTaskArn=arn2 + "0")
        self.assertCode(cm, "ResourceNotFoundException", 404)

    def test_braket_schema_checks(self):
        br = self.client("braket")
        with open(BRAKET_EXAMPLE) as f:
            req = json.load(f)
        bad_action = json.dumps({"braketSchemaHeader": {"name": "braket.ir.openqasm.program", "version": "1"}})
        bad_inputs = json.dumps({"braketSchemaHeader": {"name": "braket.ir.openqasm.program", "version": "1"},
                                 "source": "OPENQASM 3.0;", "inputs": {"b": "012"}})
        bad_header = json.dumps({"braketSchemaHeader": {"name": "braket.ir.jaqcd.program", "version": "1"},
                                 "instructions": []})
        bad_params = json.dumps({"braketSchemaHeader": {"name": "braket.device_schema.simulators.gate_model_simulator_device_parameters", "version": "1"},
                                 "paradigmParameters": {"braketSchemaHeader": {"name": "braket.device_schema.gate_model_parameters", "version": "1"},
                                                        "qubitCount": -1}})
        cases = [("action", bad_action, "action", "'source' is a required property"),
                 ("action", bad_inputs, "action/inputs/b", "is not valid under any of the given schemas"),
                 ("action", bad_header, "action", "unsupported braketSchemaHeader"),
                 ("deviceParameters", bad_params, "deviceParameters/paradigmParameters/qubitCount",
                  "less than the minimum"),
                 ("action", "{not json", "action", "not valid JSON")]
        for i, (param, value, field, why) in enumerate(cases):
            with self.subTest(field=field, why=why):
                with self.assertRaises(ClientError) as cm:
                    br.create_quantum_task(**dict(req, clientToken=f"token-{i:026d}", **{param: value}))
                msg = self.assertCode(cm, "ValidationException", 400)
                self.assertIn(field, msg)
                self.assertIn(why, msg)

    # ---- signatures ---------------------------------------------------------------------
    def test_wrong_secret_is_refused(self):
        lam = self.client("lambda", sk=SK + "x")
        with self.assertRaises(ClientError) as cm:
            lam.list_functions()
        msg = self.assertCode(cm, "InvalidSignatureException", 403)
        self.assertIn("Canonical String", msg)
        with self.assertRaises(ClientError) as cm:
            self.client("lambda", ak="AKIDUNKNOWN000000000").list_functions()
        self.assertCode(cm, "UnrecognizedClientException", 403)

    def raw(self, method, path, body, headers, sign_service="lambda", tamper=None):
        url = self.url + path
        req = AWSRequest(method=method, url=url, data=body, headers=headers)
        botocore.auth.SigV4Auth(Credentials(AK, SK), sign_service, "us-east-1").add_auth(req)
        h = dict(req.headers.items())
        if tamper:
            body, h = tamper(body, h)
        r = urllib.request.Request(url, data=body, method=method, headers=h)
        try:
            with urllib.request.urlopen(r, timeout=10) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def test_tampering_is_refused(self):
        body = json.dumps({"FunctionName": "t", "Runtime": "python3.9", "Role": ROLE, "Handler": "a.b",
                           "Code": {"ZipFile": "UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA=="}}).encode()
        st, out = self.raw("POST", "/2015-03-31/functions", body, {"Content-Type": "application/json"})
        self.assertEqual(st, 201, out)
        st, out = self.raw("POST", "/2015-03-31/functions", body.replace(b'"t"', b'"u"'),
                           {"Content-Type": "application/json"},
                           tamper=lambda b, h: (b.replace(b'"u"', b'"v"'), h))
        self.assertEqual(st, 403, out)
        self.assertIn(b"signature", out.lower())
        st, out = self.raw("GET", "/2015-03-31/functions/t", None, {},
                           tamper=lambda b, h: (b, dict(h, **{"X-Amz-Date": "20200101T000000Z"})))
        self.assertEqual(st, 403, out)
        st, out = self.raw("GET", "/2015-03-31/functions/t", None, {}, sign_service="ecs")
        self.assertEqual(st, 403)
        self.assertIn(b"scoped to correct service", out)
        st, out = self.raw("GET", "/2015-03-31/functions/t", None, {},
                           tamper=lambda b, h: (b, {k: v for k, v in h.items() if k != "Authorization"}))
        self.assertEqual(st, 403)
        st, out = self.raw("GET", "/2015-03-31/functions/t", None, {})
        self.assertEqual(st, 200, out)

    # ---- faults and latency -------------------------------------------------------------
    def test_faults(self):
        lam = self.client("lambda")
        self.control("POST", "faults", {"count": 1, "status": 429, "service": "lambda"})
        with self.assertRaises(ClientError) as cm:
            lam.list_functions()
        self.assertCode(cm, "ThrottlingException", 429)
        lam.list_functions()  # only one was asked for
        self.control("POST", "faults", {"count": 1, "status": 503, "retry_after": 2})
        with self.assertRaises(ClientError) as cm:
            lam.list_functions()
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 503)
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPHeaders"]["retry-after"], "2")
        self.control("POST", "faults", {"count": 1, "status": 500, "operation": "GetFunction"})
        lam.list_functions()  # does not match the operation
        with self.assertRaises(ClientError) as cm:
            lam.get_function(FunctionName="nope")
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 500)
        self.control("POST", "faults", {"count": 1, "reset": True})
        with self.assertRaises((ConnectionClosedError, EndpointConnectionError, ConnectionError)):
            lam.list_functions()
        self.control("POST", "faults", {"count": 1, "delay_ms": 150})
        t0 = time.monotonic()
        lam.list_functions()
        self.assertGreaterEqual(time.monotonic() - t0, 0.15)
        self.control("POST", "latency", {"ms": 20})
        t0 = time.monotonic()
        lam.list_functions()
        self.assertGreaterEqual(time.monotonic() - t0, 0.02)
        log = self.control("GET", "log")
        self.assertEqual([e.get("status") for e in log][:2], [429, 200])
        self.assertTrue(all(e["operation"] in ("ListFunctions", "GetFunction") for e in log))

    def test_faults_after_the_operation(self):
        """"after": the operation takes effect, its answer is lost."""
        lam = self.client("lambda")
        zipped = zip_bytes()
        self.control("POST", "faults", {"count": 1, "reset": True, "after": True,
                                        "operation": "CreateFunction"})
        with self.assertRaises((ConnectionClosedError, EndpointConnectionError, ConnectionError)):
            lam.create_function(FunctionName="lost-answer", Runtime="python3.9", Role=ROLE,
                                Handler="app.handler", Code={"ZipFile": zipped})
        self.assertEqual(lam.get_function(FunctionName="lost-answer")["Configuration"]["FunctionName"],
                         "lost-answer")
        self.control("POST", "faults", {"count": 1, "status": 500, "after": True,
                                        "operation": "DeleteFunction"})
        with self.assertRaises(ClientError) as cm:
            lam.delete_function(FunctionName="lost-answer")
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 500)
        with self.assertRaises(ClientError) as cm:
            lam.get_function(FunctionName="lost-answer")
        self.assertCode(cm, "ResourceNotFoundException", 404)


if __name__ == "__main__":
    unittest.main(verbosity=2)
