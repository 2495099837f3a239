# drivers/: one folder per provider, each a dlopen-able module; kit/ is shared.
include drivers/kit/local.mk
include drivers/aws/local.mk
include drivers/quantum/local.mk
include drivers/k8s/local.mk
include drivers/gcp/local.mk
