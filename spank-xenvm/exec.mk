# xenvm-exec: runs one task (or any command) inside the job's VM through the guest agent.
# Included by spank-xenvm/module.mk; uses lib/vm (declared in lib/vm/module.mk via guest/).
XENVM_EXEC     := $(B)/spank-xenvm/xenvm-exec
XENVM_EXEC_SRC := spank-xenvm/xenvm_exec.c spank-xenvm/xenvm_exec_relay.c \
                  spank-xenvm/xenvm_exec_batch.c
XENVM_EXEC_OBJ := $(patsubst %.c,$(B)/%.o,$(XENVM_EXEC_SRC))
LIBEXEC += $(XENVM_EXEC)
MAN1 += doc/man/xenvm-exec.1

$(XENVM_EXEC): $(XENVM_EXEC_OBJ) $(LIBXENVM_VM) $(LIBXENVM)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(XENVM_EXEC_OBJ) $(LIBXENVM_VM) $(LIBXENVM)

# The same program, static, for the guest image: there it is the srun/sbatch/squeue... shim
# (guest/mkimage.sh), and the guest has no loader of its own in the initramfs.
$(B)/spank-xenvm/xenvm-exec.static: $(XENVM_EXEC_OBJ) $(LIBXENVM_VM) $(LIBXENVM)
	@mkdir -p $(dir $@)
	$(CC) -static $(LDFLAGS) -o $@ $(XENVM_EXEC_OBJ) $(LIBXENVM_VM) $(LIBXENVM)
