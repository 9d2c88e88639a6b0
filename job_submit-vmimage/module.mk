# job_submit-vmimage/: job_submit_vmimage.so (JobSubmitPlugins=vmimage).
JOB_SUBMIT_VMIMAGE     := $(B)/plugins/job_submit_vmimage.so
JOB_SUBMIT_VMIMAGE_SRC := job_submit-vmimage/plugin.c job_submit-vmimage/vmimage.c
JOB_SUBMIT_VMIMAGE_OBJ := $(patsubst %.c,$(B)/%.o,$(JOB_SUBMIT_VMIMAGE_SRC))
PLUGINS += $(JOB_SUBMIT_VMIMAGE)

# The plugin is only loadable by the exact Slurm it was built against (see mk/slurm.mk).
$(B)/job_submit-vmimage/plugin.o: CFLAGS += -DXENVM_SLURM_VERSION=$(SLURM_INSTALLED_NUMBER)
$(B)/job_submit-vmimage/plugin.o: | slurm-version-check

$(JOB_SUBMIT_VMIMAGE): $(JOB_SUBMIT_VMIMAGE_OBJ) $(LIBXENVM) job_submit-vmimage/job_submit_vmimage.map
	@mkdir -p $(dir $@)
	$(CC) -shared $(LDFLAGS) -Wl,--version-script=job_submit-vmimage/job_submit_vmimage.map \
	  -o $@ $(JOB_SUBMIT_VMIMAGE_OBJ) $(LIBXENVM) $(YAML_LIBS) $(CRYPTO_LIBS)
	mk/check-plugin-symbols $@ || { rm -f $@; exit 1; }
MAN8 += doc/man/job_submit_vmimage.8
MAN7 += doc/man/xenvm-require.7
