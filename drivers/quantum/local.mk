# drivers/quantum: see drivers/local.mk
