# tests/aws.mk - tests of the AWS driver (drivers/aws), included from
# tests/local.mk. The integration tests run the real CLI and the real aws.so
# against tests/fakes/fake_aws.py (botocore checks every signature and body).
check_PROGRAMS += tests/aws/aws_verb
tests_aws_aws_verb_SOURCES = tests/aws/aws_verb.c
tests_aws_aws_verb_CPPFLAGS = $(FB_TEST_INCS)
tests_aws_aws_verb_LDADD = $(FB_TEST_DEPLIBS)

AWS_TESTS = \
	tests/aws/lifecycle.py
TESTS += $(AWS_TESTS)
EXTRA_DIST += $(AWS_TESTS) tests/aws/awstest.py
