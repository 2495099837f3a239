# drivers/aws: see drivers/local.mk
