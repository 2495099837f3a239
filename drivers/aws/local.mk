# drivers/aws: AWS Lambda (Function) and ECS on Fargate (Container) over the
# AWS APIs, SigV4 and credentials from drivers/kit. A dlopen-able module
# exporting only fb_driver_entry. The Lambda zip comes from the kit (drivers/kit/zip.c, zlib).
driver_LTLIBRARIES += drivers/aws/aws.la
drivers_aws_aws_la_SOURCES = \
	drivers/aws/aws.h \
	drivers/aws/aws.c \
	drivers/aws/lambda.c \
	drivers/aws/triggers.c \
	drivers/aws/cron.c \
	drivers/aws/capacity.c \
	drivers/aws/ecs.c \
	drivers/aws/elb.c \
	drivers/aws/tasks.c \
	drivers/aws/iam.c \
	drivers/aws/lattice.c \
	drivers/aws/attest.c \
	drivers/aws/usage.c
drivers_aws_aws_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/drivers/kit $(OPENSSL_CFLAGS) \
	$(JANSSON_CFLAGS)
drivers_aws_aws_la_CFLAGS = $(FB_DRV_CF) -fPIC
drivers_aws_aws_la_LDFLAGS = $(FB_DRV_LD)
drivers_aws_aws_la_LIBADD = drivers/kit/libfbkit.la $(JANSSON_LIBS) $(OPENSSL_LIBS) $(ZLIB_LIBS)
EXTRA_DIST += drivers/aws/README.md
