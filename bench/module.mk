# bench/: benchmarks that print figures (never pass/fail on timing).
BENCH_JOB_SUBMIT := $(B)/bench/bench-job-submit
BENCHES += bench-job-submit

$(BENCH_JOB_SUBMIT): $(B)/bench/job_submit.o $(LIBXENVM)
	$(CC) $(LDFLAGS) -o $@ $^ -ldl $(LIBXENVM_LIBS)

.PHONY: bench-job-submit
bench-job-submit: $(BENCH_JOB_SUBMIT) $(JOB_SUBMIT_VMIMAGE)
	$(BENCH_JOB_SUBMIT) $(JOB_SUBMIT_VMIMAGE)

# Issue 6's figures: step launch native vs into ready VMs, sbatch-to-first-output cold and warm.
.PHONY: bench-job
bench-job: all image
	bench/bench-job
BENCHES += bench-job

# Issue 5's figures: verbs (ibv_rc_pingpong over rxe) vs MPI over TCP vs MPI over UCX verbs,
# between two VMs of one job on 2 nodes, 1 B .. 1 MiB (bench/verbs-bench.sh).
.PHONY: bench-verbs
bench-verbs: all image
	bench/verbs-bench.sh
BENCHES += bench-verbs

# Issue 15's push figure: `xenvm image push` MB/s against cp (and cp + sync) of the same files in
# the same run (bench/image-push.sh; BENCH_PUSH_MB=256 root disk, BENCH_REPS=3).
.PHONY: bench-image-push
bench-image-push: $(B)/imgstore/xenvm-imaged $(XENVM_ADMIN)
	bench/image-push.sh $(B) $(or $(BENCH_PUSH_MB),256) $(or $(BENCH_REPS),3)
BENCHES += bench-image-push

# Issue 16's store figures: store bytes a one-package-changed root disk adds, chunked vs whole-file
# blobs, and imagecast's root reading a chunked vs a whole-file blob, in one run
# (bench/chunkstore.c; BENCH_CHUNK_MB=64 root disk, BENCH_REPS=5).
BENCH_CHUNKSTORE := $(B)/bench/bench-chunkstore
$(B)/bench/chunkstore.o: CFLAGS += $(CRYPTO_CFLAGS) $(YAML_CFLAGS)
$(BENCH_CHUNKSTORE): $(B)/bench/chunkstore.o $(LIBIMGSTORE) $(LIBIMAGECAST) $(LIBXENVM)
	$(CC) $(LDFLAGS) -o $@ $< $(LIBIMGSTORE) $(LIBIMAGECAST) $(IMGS_LIBS) $(IC_LIBS)
.PHONY: bench-chunkstore
bench-chunkstore: $(BENCH_CHUNKSTORE)
	$(BENCH_CHUNKSTORE) $(or $(BENCH_CHUNK_MB),64) $(or $(BENCH_REPS),5)
BENCHES += bench-chunkstore
