# imgstore/: the content-addressed image store (libimgstore.a), its manager xenvm-imaged and the
# client library the `xenvm image` command uses (imgstore/README.md, xenvm-imaged(8)).
IMGS_LIB_SRC := imgstore/store.c imgstore/tags.c imgstore/manifest.c imgstore/catalog_gen.c \
                imgstore/maintain.c imgstore/yamlout.c imgstore/util.c imgstore/policy.c \
                imgstore/jobs.c imgstore/wire.c imgstore/server.c imgstore/push.c \
                imgstore/client.c imgstore/verify.c imgstore/remote.c \
                imgstore/chunk.c
IMGS_LIB_OBJ := $(patsubst %.c,$(B)/%.o,$(IMGS_LIB_SRC))
LIBIMGSTORE  := $(B)/imgstore/libimgstore.a
IMGS_LIBS    := $(LIBIMGSTORE) $(LIBXENVM) $(LIBXENVM_LIBS) $(MUNGE_LIBS)

$(IMGS_LIB_OBJ) $(B)/imgstore/imaged.o: CFLAGS += $(YAML_CFLAGS) $(CRYPTO_CFLAGS) $(MUNGE_CFLAGS)
$(B)/imgstore/verify.o: CFLAGS += -DXENVM_BINDIR='"$(BINDIR)"'

$(LIBIMGSTORE): $(IMGS_LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(B)/imgstore/xenvm-imaged: $(B)/imgstore/imaged.o $(LIBIMGSTORE) $(LIBXENVM)
	$(CC) $(LDFLAGS) -o $@ $< $(IMGS_LIBS)

SBINS += $(B)/imgstore/xenvm-imaged
MAN8  += doc/man/xenvm-imaged.8

IMGS_UNIT := test_imgstore_crash test_imgstore_pin test_imgstore_chunk
UNIT_TESTS += $(patsubst %,$(B)/tests/unit/%,$(IMGS_UNIT))
$(patsubst %,$(B)/tests/unit/%.o,$(IMGS_UNIT)): CFLAGS += $(CMOCKA_CFLAGS) $(YAML_CFLAGS)
$(B)/tests/unit/test_imgstore%: $(B)/tests/unit/test_imgstore%.o $(LIBIMGSTORE) $(LIBXENVM)
	$(CC) $(LDFLAGS) -o $@ $< $(IMGS_LIBS) $(CMOCKA_LIBS)

# Host-level integration: the daemon on a temporary store and socket, `xenvm image` as root and
# as two users (SO_PEERCRED), fake scontrol for the job pins; verify: boot with the project's
# image (QEMU/TCG, no network: about 20 s).
.PHONY: check-imgstore
CHECKS += check-imgstore
check-imgstore: $(B)/imgstore/xenvm-imaged $(B)/admin/xenvm $(B)/imagecast/imagecast image
	@tests/imgstore/run $(B) $(IMAGE_DIR)

