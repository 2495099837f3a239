# tests/aws.mk - tests of the AWS driver (drivers/aws), included from
# tests/local.mk. The integration tests run the real CLI and the real aws.so
# against tests/fakes/fake_aws.py (botocore recomputes every signature and
# validates every body against the botocore models).
check_PROGRAMS += tests/aws/aws_verb
tests_aws_aws_verb_SOURCES = tests/aws/aws_verb.c
tests_aws_aws_verb_CPPFLAGS = $(FB_TEST_INCS)
tests_aws_aws_verb_LDADD = $(FB_TEST_DEPLIBS)

AWS_TESTS = \
	tests/aws/conformance.sh \
	tests/aws/verbs.py \
	tests/aws/zip.py \
	tests/aws/dryrun.py \
	tests/aws/badinput.py \
	tests/aws/faults.py \
	tests/aws/pending.py \
	tests/aws/crash.py \
	tests/aws/crash_destroy.py \
	tests/aws/store_failure.py \
	tests/aws/crash_inflight.py \
	tests/aws/crash_recover.py \
	tests/aws/lost_answer.py \
	tests/aws/disk_full.py \
	tests/aws/concurrent.py \
	tests/aws/lock.py \
	tests/aws/lifecycle.py \
	tests/aws/url_permission.py \
	tests/aws/query.py \
	tests/aws/triggers.py \
	tests/aws/plan_triggers.py \
	tests/aws/secrets.py
TESTS += $(AWS_TESTS)
EXTRA_DIST += $(AWS_TESTS) tests/aws/awstest.py

# The apply benchmark's fast Lambda stand-in (bench/aws_apply.sh, bench/README-aws.md).
check_PROGRAMS += bench/aws_fastfake
bench_aws_fastfake_SOURCES = bench/aws_fastfake.c bench/fastfake.c bench/fastfake.h
bench_aws_fastfake_CPPFLAGS = $(AM_CPPFLAGS) $(MHD_CFLAGS) $(JANSSON_CFLAGS)
bench_aws_fastfake_LDADD = $(MHD_LIBS) $(JANSSON_LIBS)
EXTRA_DIST += bench/aws_apply.sh bench/README-aws.md bench/apply_ab.sh bench/plan_apply.sh
