# spank-xenvm/: spank_xenvm.so (options, request hand-off, task launch into the VM).
SPANK_XENVM     := $(B)/plugins/spank_xenvm.so
SPANK_XENVM_SRC := spank-xenvm/plugin.c spank-xenvm/args.c spank-xenvm/options.c \
                   spank-xenvm/log_sink.c spank-xenvm/ctx_srun.c spank-xenvm/ctx_alloc.c \
                   spank-xenvm/ctx_slurmstepd.c spank-xenvm/ctx_step_vm.c spank-xenvm/ctx_slurmd.c
SPANK_XENVM_OBJ := $(patsubst %.c,$(B)/%.o,$(SPANK_XENVM_SRC))
PLUGINS += $(SPANK_XENVM)
$(B)/spank-xenvm/ctx_slurmstepd.o: CFLAGS += -DXENVM_LIBEXECDIR='"$(LIBEXECDIR)"'
$(B)/spank-xenvm/ctx_step_vm.o: CFLAGS += -DXENVM_SBINDIR='"$(SBINDIR)"'

# libslurm's symbols (slurm_info, slurm_hostlist_*...) come from the process that loads us.
$(SPANK_XENVM): $(SPANK_XENVM_OBJ) $(LIBXENVM) spank-xenvm/spank_xenvm.map
	@mkdir -p $(dir $@)
	$(CC) -shared $(LDFLAGS) -Wl,--version-script=spank-xenvm/spank_xenvm.map -o $@ \
	  $(SPANK_XENVM_OBJ) $(LIBXENVM) $(YAML_LIBS) $(CRYPTO_LIBS)
	mk/check-plugin-symbols $@ || { rm -f $@; exit 1; }

MAN8 += doc/man/spank_xenvm.8
