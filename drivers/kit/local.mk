# drivers/kit: see drivers/local.mk
