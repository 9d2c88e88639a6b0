# imagecast/: imagecastd (per-node image cache + peer server), the imagecast CLI, libimagecast.
IC_LIB_SRC := imagecast/sha.c imagecast/tree.c imagecast/manifest.c imagecast/store.c \
              imagecast/proto.c imagecast/tcp.c imagecast/auth.c imagecast/hosts.c \
              imagecast/spec.c imagecast/util.c imagecast/mcache.c imagecast/admit.c \
              imagecast/handshake.c
IC_LIB_OBJ := $(patsubst %.c,$(B)/%.o,$(IC_LIB_SRC))
LIBIMAGECAST := $(B)/imagecast/libimagecast.a
IC_LIBS := $(LIBIMAGECAST) $(LIBXENVM) $(LIBXENVM_LIBS) $(MUNGE_LIBS) -lpthread -lm

IC_D_OBJ := $(patsubst %.c,$(B)/%.o,imagecast/imagecastd.c imagecast/xfer.c imagecast/serve.c)
IC_C_OBJ := $(patsubst %.c,$(B)/%.o,imagecast/imagecast.c imagecast/progress.c)

$(IC_LIB_OBJ) $(IC_D_OBJ) $(IC_C_OBJ): CFLAGS += $(CRYPTO_CFLAGS) $(MUNGE_CFLAGS) -Iimagecast

$(LIBIMAGECAST): $(IC_LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(B)/imagecast/imagecastd: $(IC_D_OBJ) $(LIBIMAGECAST) $(LIBXENVM)
	$(CC) $(LDFLAGS) -o $@ $(IC_D_OBJ) $(IC_LIBS)

$(B)/imagecast/imagecast: $(IC_C_OBJ) $(LIBIMAGECAST) $(LIBXENVM)
	$(CC) $(LDFLAGS) -o $@ $(IC_C_OBJ) $(IC_LIBS)

SBINS += $(B)/imagecast/imagecastd
BINS  += $(B)/imagecast/imagecast
MAN8  += doc/man/imagecastd.8 doc/man/imagecast.8

# Unit tests (cmocka; built in the sanitizer variant by `make asan`).
IC_UNIT := test_imagecast_tree test_imagecast_manifest test_imagecast_store test_imagecast_proto \
           test_imagecast_admit
UNIT_TESTS += $(patsubst %,$(B)/tests/unit/%,$(IC_UNIT))
$(patsubst %,$(B)/tests/unit/%.o,$(IC_UNIT)): CFLAGS += $(CMOCKA_CFLAGS) $(CRYPTO_CFLAGS) -Iimagecast
$(B)/tests/unit/test_imagecast_%: $(B)/tests/unit/test_imagecast_%.o $(LIBIMAGECAST) $(LIBXENVM)
	$(CC) $(LDFLAGS) -o $@ $< $(IC_LIBS) $(CMOCKA_LIBS)

# Integration: real daemons in network namespaces, own munged.
.PHONY: check-imagecast bench-imagecast
CHECKS += check-imagecast
check-imagecast: $(B)/imagecast/imagecastd $(B)/imagecast/imagecast
	@tests/imagecast/run $(B)/imagecast

BENCHES += bench-imagecast
bench-imagecast: $(B)/imagecast/imagecastd $(B)/imagecast/imagecast
	@bench/bench-imagecast $(B)/imagecast
