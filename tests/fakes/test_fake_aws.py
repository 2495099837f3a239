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
import shutil
import socket
import subprocess
import sys
import tempfile
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
sys.path.insert(0, HERE)
from fake_aws import reference_loader_dir  # noqa: E402  (the fake's own models, for clients)
AK, SK = "AKIDFAKEEXAMPLE00001", "fakeSecretKey/EXAMPLE+00001+fedbrokerTEST"
ROLE = "arn:aws:iam::123456789012:role/fedbroker-lambda"
BRAKET_EXAMPLE = os.path.join(os.path.dirname(HERE), "reference", "braket", "CreateQuantumTask.request.example.json")


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
        cls.proc, cls.port = start_fake("--sqs-recreate-wait", "1")
        cls.url = f"http://127.0.0.1:{cls.port}"
        cls.session = botocore.session.get_session()
        cls.refdir = tempfile.mkdtemp(prefix="fake-aws-models-")
        cls.ref_session = botocore.session.get_session()
        cls.ref_session.get_component("data_loader").search_paths.insert(0, reference_loader_dir(cls.refdir))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.refdir, ignore_errors=True)
        cls.proc.stdin.close()
        cls.proc.stdout.close()
        cls.proc.wait(timeout=10)

    def setUp(self):
        self.control("POST", "reset")

    def client(self, service, ak=AK, sk=SK, token=None, validate=True, region="us-east-1", ref=False):
        """A botocore client pointed at the fake; ref: made from the fake's
        reference models (reference_loader_dir) instead of Debian's."""
        return (self.ref_session if ref else self.session).create_client(
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

    # ---- triggers: EventBridge Scheduler, SQS (JSON), event source mappings ----------
    def function(self, lam, name="fb-job", timeout=60):
        return lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="app.handler",
                                   Code={"ZipFile": zip_bytes()}, Timeout=timeout)

    def test_scheduler_round_trip(self):
        sch = self.client("scheduler", ref=True)
        fn = self.function(self.client("lambda", ref=True))
        target = {"Arn": fn["FunctionArn"], "RoleArn": "arn:aws:iam::123456789012:role/fedbroker-scheduler"}
        base = dict(Name="fb-job-s0", ScheduleExpression="cron(0 3 * * ? *)", ScheduleExpressionTimezone="Europe/Berlin",
                    FlexibleTimeWindow={"Mode": "OFF"}, Target=target, Description="fedbroker t/job",
                    ClientToken="tok-1")
        arn = sch.create_schedule(**base)["ScheduleArn"]
        self.assertEqual(arn, "arn:aws:scheduler:us-east-1:123456789012:schedule/default/fb-job-s0")
        # the same token and request: the same answer; another request with it: a conflict
        self.assertEqual(sch.create_schedule(**base)["ScheduleArn"], arn)
        with self.assertRaises(ClientError) as cm:
            sch.create_schedule(**dict(base, ScheduleExpression="cron(0 4 * * ? *)"))
        self.assertCode(cm, "ConflictException", 409)
        with self.assertRaises(ClientError) as cm:
            sch.create_schedule(**dict(base, ClientToken="tok-2"))
        self.assertIn("already exists", self.assertCode(cm, "ConflictException", 409))
        got = sch.get_schedule(Name="fb-job-s0")
        self.assertEqual((got["ScheduleExpression"], got["ScheduleExpressionTimezone"], got["State"], got["Target"],
                          got["Description"]), ("cron(0 3 * * ? *)", "Europe/Berlin", "ENABLED", target, "fedbroker t/job"))
        # UpdateSchedule replaces: what it does not send is reset
        sch.update_schedule(Name="fb-job-s0", ScheduleExpression="rate(5 minutes)", FlexibleTimeWindow={"Mode": "OFF"},
                            Target=target)
        got = sch.get_schedule(Name="fb-job-s0")
        self.assertEqual(got["ScheduleExpression"], "rate(5 minutes)")
        self.assertNotIn("Description", got)
        self.assertNotIn("ScheduleExpressionTimezone", got)
        sch.create_schedule(**dict(base, Name="other", ClientToken="tok-3"))
        pages = list(sch.get_paginator("list_schedules").paginate(NamePrefix="fb-", PaginationConfig={"PageSize": 1}))
        self.assertEqual([x["Name"] for p in pages for x in p["Schedules"]], ["fb-job-s0"])
        self.assertEqual(pages[0]["Schedules"][0]["Target"], {"Arn": fn["FunctionArn"]})
        sch.delete_schedule(Name="fb-job-s0")
        for call in (lambda: sch.get_schedule(Name="fb-job-s0"), lambda: sch.delete_schedule(Name="fb-job-s0")):
            with self.assertRaises(ClientError) as cm:
                call()
            self.assertCode(cm, "ResourceNotFoundException", 404)
        with self.assertRaises(ClientError) as cm:
            sch.get_schedule(Name="other", GroupName="nope")
        self.assertCode(cm, "ResourceNotFoundException", 404)

    def test_scheduler_refusals(self):
        sch = self.client("scheduler", ref=True)
        target = {"Arn": "arn:aws:lambda:us-east-1:123456789012:function:f",
                  "RoleArn": "arn:aws:iam::123456789012:role/fedbroker-scheduler"}
        ok = dict(Name="s", ScheduleExpression="cron(0 3 * * ? *)", FlexibleTimeWindow={"Mode": "OFF"}, Target=target)
        for expr, why in (("cron(0 3 * * *)", "6 fields"), ("cron(0 3 * * * *)", "exactly one"),
                          ("cron(0 3 ? * ? *)", "exactly one"), ("cron(60 3 * * ? *)", "out of range"),
                          ("cron(0 3 * 13 ? *)", "out of range"), ("cron(0 3 ? * 8 *)", "out of range in day-of-week"),
                          ("cron(0 3 ? * 9#2 *)", "day of the week"),
                          ("rate(1 hours)", "singular"), ("every 5 minutes", "expected")):
            with self.subTest(expr=expr):
                with self.assertRaises(ClientError) as cm:
                    sch.create_schedule(**dict(ok, ScheduleExpression=expr))
                self.assertIn(why, self.assertCode(cm, "ValidationException", 400))
        for expr in ("cron(*/5 9-17 ? * MON-FRI *)", "cron(0 12 L * ? *)", "cron(0 8 ? * 2#1 *)",
                     "cron(0 0 1,15 JAN,JUL ? 2030)", "rate(1 day)", "at(2030-01-01T00:00:00)"):
            with self.subTest(expr=expr):
                sch.create_schedule(**dict(ok, Name="ok", ScheduleExpression=expr))
                sch.delete_schedule(Name="ok")
        with self.assertRaises(ClientError) as cm:
            sch.create_schedule(**dict(ok, ScheduleExpressionTimezone="Mars/Olympus"))
        self.assertIn("timezone", self.assertCode(cm, "ValidationException", 400))
        # the model's checks: the role ARN's pattern, a required member
        with self.assertRaises(ClientError) as cm:
            sch.create_schedule(**dict(ok, Target=dict(target, RoleArn="role/x")))
        self.assertIn("Target.RoleArn", self.assertCode(cm, "ValidationException", 400))
        raw = self.client("scheduler", ref=True, validate=False)
        with self.assertRaises(ClientError) as cm:
            raw.create_schedule(Name="s", ScheduleExpression="rate(1 day)", Target=target)
        self.assertIn("FlexibleTimeWindow", self.assertCode(cm, "ValidationException", 400))
        self.assertEqual(self.control("GET", "state")["schedules"], {})

    def test_sqs_json_round_trip(self):
        sqs = self.client("sqs", ref=True)
        url = sqs.create_queue(QueueName="jobs", Attributes={"VisibilityTimeout": "360"},
                               tags={"managed-by": "fedbroker"})["QueueUrl"]
        self.assertEqual(url, "https://sqs.us-east-1.amazonaws.com/123456789012/jobs")
        log = self.control("GET", "log")[-1]
        hdrs = {k.lower(): v for k, v in log["headers"]}
        self.assertEqual((hdrs["x-amz-target"], hdrs["content-type"]), ("AmazonSQS.CreateQueue", "application/x-amz-json-1.0"))
        # the same name and attributes: the same queue; other attributes: QueueNameExists
        self.assertEqual(sqs.create_queue(QueueName="jobs", Attributes={"VisibilityTimeout": "360"})["QueueUrl"], url)
        with self.assertRaises(ClientError) as cm:
            sqs.create_queue(QueueName="jobs", Attributes={"VisibilityTimeout": "30"})
        self.assertIn(cm.exception.response["Error"]["Code"], ("QueueNameExists", "QueueAlreadyExists"))
        self.assertEqual(sqs.get_queue_url(QueueName="jobs")["QueueUrl"], url)
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn", "VisibilityTimeout"])["Attributes"]
        self.assertEqual(attrs, {"QueueArn": "arn:aws:sqs:us-east-1:123456789012:jobs", "VisibilityTimeout": "360"})
        self.assertEqual(sqs.list_queue_tags(QueueUrl=url)["Tags"], {"managed-by": "fedbroker"})
        sqs.create_queue(QueueName="jobs-2")
        self.assertEqual(sqs.list_queues(QueueNamePrefix="jobs")["QueueUrls"], [url, url + "-2"])
        pages = list(sqs.get_paginator("list_queues").paginate(PaginationConfig={"PageSize": 1}))
        self.assertEqual(len([u for p in pages for u in p.get("QueueUrls", [])]), 2)
        self.assertEqual(self.client("sqs", ref=True, region="eu-west-1").list_queues().get("QueueUrls", []), [])
        sqs.delete_queue(QueueUrl=url)
        for call in (lambda: sqs.get_queue_url(QueueName="jobs"), lambda: sqs.delete_queue(QueueUrl=url),
                     lambda: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])):
            with self.assertRaises(ClientError) as cm:
                call()
            self.assertIn(cm.exception.response["Error"]["Code"],
                          ("QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue"))
        raw = [e for e in self.control("GET", "log") if e.get("operation") == "GetQueueUrl"][-1]
        self.assertEqual(raw["status"], 400)
        # recreated too soon (the fake runs with --sqs-recreate-wait 1)
        with self.assertRaises(ClientError) as cm:
            sqs.create_queue(QueueName="jobs")
        self.assertIn("QueueDeletedRecently", cm.exception.response["Error"]["Code"])
        time.sleep(1.1)
        sqs.create_queue(QueueName="jobs")
        for params, code in (({"QueueName": "bad name"}, "InvalidParameterValue"),
                             ({"QueueName": "q", "Attributes": {"VisibilityTimeout": "50000"}}, "InvalidAttributeValue"),
                             ({"QueueName": "q", "Attributes": {"QueueArn": "x"}}, "InvalidAttributeName"),
                             ({"QueueName": "q", "Attributes": {"Bogus": "1"}}, "ValidationException")):
            with self.subTest(code=code):
                with self.assertRaises(ClientError) as cm:
                    sqs.create_queue(**params)
                self.assertEqual(cm.exception.response["Error"]["Code"], code)

    def test_event_source_mappings(self):
        lam, sqs = self.client("lambda", ref=True), self.client("sqs", ref=True)
        fn = self.function(lam, timeout=60)
        arn = "arn:aws:sqs:us-east-1:123456789012:work"
        with self.assertRaises(ClientError) as cm:  # no such queue
            lam.create_event_source_mapping(FunctionName="fb-job", EventSourceArn=arn)
        self.assertIn("NonExistentQueue", self.assertCode(cm, "InvalidParameterValueException", 400))
        url = sqs.create_queue(QueueName="work")["QueueUrl"]  # visibility 30 s < the function's 60 s
        with self.assertRaises(ClientError) as cm:
            lam.create_event_source_mapping(FunctionName="fb-job", EventSourceArn=arn)
        self.assertIn("less than Function timeout", self.assertCode(cm, "InvalidParameterValueException", 400))
        sqs.delete_queue(QueueUrl=url)
        time.sleep(1.1)
        sqs.create_queue(QueueName="work", Attributes={"VisibilityTimeout": "360"})
        with self.assertRaises(ClientError) as cm:  # more than 10 needs a batching window
            lam.create_event_source_mapping(FunctionName="fb-job", EventSourceArn=arn, BatchSize=20)
        self.assertIn("batch window", self.assertCode(cm, "InvalidParameterValueException", 400))
        m = lam.create_event_source_mapping(FunctionName="fb-job", EventSourceArn=arn, BatchSize=20,
                                            MaximumBatchingWindowInSeconds=1, Tags={"managed-by": "fedbroker"})
        self.assertEqual((m["State"], m["FunctionArn"], m["BatchSize"]), ("Creating", fn["FunctionArn"], 20))
        self.assertEqual(m["EventSourceMappingArn"], f"arn:aws:lambda:us-east-1:123456789012:event-source-mapping:{m['UUID']}")
        self.assertEqual(lam.get_event_source_mapping(UUID=m["UUID"])["State"], "Enabled")
        self.assertEqual(lam.list_tags(Resource=m["EventSourceMappingArn"])["Tags"], {"managed-by": "fedbroker"})
        with self.assertRaises(ClientError) as cm:
            lam.create_event_source_mapping(FunctionName="fb-job", EventSourceArn=arn)
        self.assertIn(m["UUID"], self.assertCode(cm, "ResourceConflictException", 409))
        listed = lam.list_event_source_mappings(FunctionName=fn["FunctionArn"], EventSourceArn=arn)
        self.assertEqual([x["UUID"] for x in listed["EventSourceMappings"]], [m["UUID"]])
        self.assertEqual(lam.list_event_source_mappings(FunctionName="other")["EventSourceMappings"], [])
        up = lam.update_event_source_mapping(UUID=m["UUID"], BatchSize=5, Enabled=False)
        self.assertEqual((up["BatchSize"], up["State"]), (5, "Disabling"))
        self.assertEqual(lam.get_event_source_mapping(UUID=m["UUID"])["State"], "Disabled")
        self.assertEqual(lam.delete_event_source_mapping(UUID=m["UUID"])["State"], "Deleting")
        for call in (lambda: lam.get_event_source_mapping(UUID=m["UUID"]),
                     lambda: lam.delete_event_source_mapping(UUID=m["UUID"])):
            with self.assertRaises(ClientError) as cm:
                call()
            self.assertCode(cm, "ResourceNotFoundException", 404)

    def invoke_url(self, url):
        host = url.split("/")[2]
        req = urllib.request.Request(self.url + "/hello?x=1", headers={"Host": host})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def test_public_url_needs_both_permissions(self):
        lam = self.client("lambda", ref=True)
        self.function(lam)
        url = lam.create_function_url_config(FunctionName="fb-job", AuthType="NONE")["FunctionUrl"]
        self.assertEqual(self.invoke_url(url), (403, {"Message": "Forbidden"}))
        lam.add_permission(FunctionName="fb-job", StatementId="FunctionURLAllowPublicAccess",
                           Action="lambda:InvokeFunctionUrl", Principal="*", FunctionUrlAuthType="NONE")
        self.assertEqual(self.invoke_url(url)[0], 403, "InvokeFunctionUrl alone is not enough since October 2025")
        with self.assertRaises(ClientError) as cm:
            lam.add_permission(FunctionName="fb-job", StatementId="x", Action="lambda:GetFunction", Principal="*",
                               InvokedViaFunctionUrl=True)
        self.assertCode(cm, "InvalidParameterValueException", 400)
        lam.add_permission(FunctionName="fb-job", StatementId="FunctionURLAllowInvokeAction",
                           Action="lambda:InvokeFunction", Principal="*", InvokedViaFunctionUrl=True)
        st, body = self.invoke_url(url)
        self.assertEqual((st, body["function"], body["path"]), (200, "fb-job", "/hello?x=1"))
        policy = json.loads(lam.get_policy(FunctionName="fb-job")["Policy"])["Statement"]
        self.assertEqual(policy[1]["Condition"], {"Bool": {"lambda:InvokedViaFunctionUrl": "true"}})
        lam.remove_permission(FunctionName="fb-job", StatementId="FunctionURLAllowPublicAccess")
        self.assertEqual(self.invoke_url(url)[0], 403)
        # an IAM-auth URL does not answer anonymous calls
        self.function(lam, name="fb-private")
        private = lam.create_function_url_config(FunctionName="fb-private", AuthType="AWS_IAM")["FunctionUrl"]
        self.assertEqual(self.invoke_url(private)[0], 403)
        self.assertEqual(self.invoke_url("https://nosuchurl0000.lambda-url.us-east-1.on.aws/")[0], 404)

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


    # ---- ECS tasks, EC2 network interfaces, ELBv2 rules (added for issue 16) ----
    def test_ecs_tasks_and_their_interfaces(self):
        """A service's tasks follow its count; each has an interface in EC2
        (the ec2 protocol, parsed by botocore's own ec2 parser) with a
        public IP under assignPublicIp; a stopped task leaves ListTasks and
        its interface goes; EC2 errors come in EC2's document."""
        ecs, ec2 = self.client("ecs"), self.client("ec2")
        ecs.register_task_definition(
            family="t", requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu="256", memory="512",
            containerDefinitions=[{"name": "c", "image": "x", "portMappings": [{"containerPort": 8080}]}])
        ecs.create_service(cluster="prod", serviceName="svc", taskDefinition="t", desiredCount=2,
                           launchType="FARGATE", networkConfiguration={"awsvpcConfiguration": {
                               "subnets": ["subnet-1"], "assignPublicIp": "ENABLED"}})
        arns = ecs.list_tasks(cluster="prod", serviceName="svc")["taskArns"]
        self.assertEqual(len(arns), 2)
        tasks = ecs.describe_tasks(cluster="prod", tasks=arns)["tasks"]
        enis = [d["value"] for t in tasks for a in t["attachments"] if a["type"] == "ElasticNetworkInterface"
                for d in a["details"] if d["name"] == "networkInterfaceId"]
        self.assertEqual(len(enis), 2)
        got = ec2.describe_network_interfaces(Filters=[{"Name": "network-interface-id", "Values": enis}],
                                              MaxResults=5)["NetworkInterfaces"]
        self.assertEqual(sorted(i["NetworkInterfaceId"] for i in got), sorted(enis))
        self.assertTrue(all(i["Association"]["PublicIp"].startswith("203.0.113.") for i in got), got)
        with self.assertRaises(ClientError) as cm:
            ec2.describe_network_interfaces(NetworkInterfaceIds=["eni-00000000000000000"])
        self.assertCode(cm, "InvalidNetworkInterfaceID.NotFound", 400)
        with self.assertRaises(ClientError) as cm:
            ec2.describe_network_interfaces(Filters=[{"Name": "no-such-filter", "Values": ["x"]}])
        self.assertCode(cm, "InvalidParameterValue", 400)
        stopped = self.control("POST", "ecs-task", {"taskArn": arns[0], "stop": True, "replace": False})
        self.assertEqual(stopped["lastStatus"], "STOPPED")
        self.assertEqual(ecs.list_tasks(cluster="prod", serviceName="svc")["taskArns"], arns[1:])
        self.assertEqual(ecs.list_tasks(cluster="prod", serviceName="svc", desiredStatus="STOPPED")["taskArns"],
                         arns[:1])
        left = ec2.describe_network_interfaces(Filters=[{"Name": "network-interface-id", "Values": enis}])
        self.assertEqual(len(left["NetworkInterfaces"]), 1)
        self.control("POST", "faults", {"count": 1, "status": 403, "service": "ec2", "code": "UnauthorizedOperation"})
        with self.assertRaises(ClientError) as cm:
            ec2.describe_network_interfaces()
        self.assertCode(cm, "UnauthorizedOperation", 403)

    def test_elbv2_listener_rules(self):
        """DescribeRules: the rules /__fake/elb made, by priority, then the
        default rule; a rule's weighted forward lists another group, whose
        LoadBalancerArns then name this balancer."""
        elb = self.client("elbv2")
        other = self.control("POST", "elb", {"region": "us-east-1", "name": "old"})
        lb = self.control("POST", "elb", {"region": "us-east-1", "name": "edge", "listeners": [
            {"port": 443, "protocol": "HTTPS", "forward": False, "rules": [
                {"priority": 20, "conditions": [{"Field": "host-header", "Values": ["a.example"]}],
                 "forward": [{"targetGroupArn": "self", "weight": 3},
                             {"targetGroupArn": other["TargetGroupArn"], "weight": 1}]},
                {"priority": 10, "conditions": [{"Field": "path-pattern", "Values": ["/api/*"]}]}]}]})
        rules = elb.describe_rules(ListenerArn=lb["ListenerArns"][0])["Rules"]
        self.assertEqual([r["Priority"] for r in rules], ["10", "20", "default"])
        self.assertEqual(rules[0]["Actions"][0]["TargetGroupArn"], lb["TargetGroupArn"])
        self.assertEqual([(g["TargetGroupArn"], g["Weight"]) for g in rules[1]["Actions"][0]["ForwardConfig"]["TargetGroups"]],
                         [(lb["TargetGroupArn"], 3), (other["TargetGroupArn"], 1)])
        self.assertTrue(rules[2]["IsDefault"])
        tg = elb.describe_target_groups(TargetGroupArns=[other["TargetGroupArn"]])["TargetGroups"][0]
        self.assertEqual(sorted(tg["LoadBalancerArns"]), sorted([other["LoadBalancerArn"], lb["LoadBalancerArn"]]))
        page = elb.describe_rules(ListenerArn=lb["ListenerArns"][0], PageSize=2)
        self.assertEqual(len(page["Rules"]), 2)
        self.assertEqual(len(elb.describe_rules(ListenerArn=lb["ListenerArns"][0], Marker=page["NextMarker"])["Rules"]), 1)
        with self.assertRaises(ClientError) as cm:
            elb.describe_rules(ListenerArn=lb["ListenerArns"][0].replace("listener/", "listener/x"))
        self.assertCode(cm, "ListenerNotFound", 400)

if __name__ == "__main__":
    unittest.main(verbosity=2)
