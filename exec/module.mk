# exec/: xenvm-exec, which runs one task (or any command) inside the job's VM through the guest
# agent, and (static, in the image) the guest's srun/sbatch/squeue... shim.  Uses vm/ and lib/.
XENVM_EXEC     := $(B)/exec/xenvm-exec
XENVM_EXEC_SRC := exec/xenvm_exec.c exec/xenvm_exec_relay.c exec/xenvm_exec_batch.c \
                  exec/xenvm_exec_end.c
XENVM_EXEC_OBJ := $(patsubst %.c,$(B)/%.o,$(XENVM_EXEC_SRC))
XENVM_EXEC_STATIC := $(B)/exec/xenvm-exec.static
LIBEXEC += $(XENVM_EXEC)
MAN1 += doc/man/xenvm-exec.1

$(XENVM_EXEC): $(XENVM_EXEC_OBJ) $(LIBXENVM_VM) $(LIBXENVM)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(XENVM_EXEC_OBJ) $(LIBXENVM_VM) $(LIBXENVM)

# The same program, static, for the guest image: there it is the srun/sbatch/squeue... shim
# (guest/mkimage.sh), and the guest has no loader of its own in the initramfs.
$(XENVM_EXEC_STATIC): $(XENVM_EXEC_OBJ) $(LIBXENVM_VM) $(LIBXENVM)
	@mkdir -p $(dir $@)
	$(CC) -static $(LDFLAGS) -o $@ $(XENVM_EXEC_OBJ) $(LIBXENVM_VM) $(LIBXENVM)
