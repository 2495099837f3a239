# tests/apply/local.mk - plan-driven apply (issue 11, docs/plan.md): plan
# documents, the change set, apply --plan, moves, destroy by plan or
# federation, endpoints. Integration tests through the real CLI, against
# tests/fakes/fake_aws.py and fake_gcp.py where providers are involved.
APPLY_TESTS = \
	tests/apply/plan_doc.py \
	tests/apply/federation.py \
	tests/apply/crash.py \
	tests/apply/aws_gcp.py \
	tests/apply/failures.py \
	tests/apply/drift_move.py \
	tests/apply/k8s_aws.py
TESTS += $(APPLY_TESTS)
EXTRA_DIST += $(APPLY_TESTS)
EXTRA_DIST += docs/plan.md
