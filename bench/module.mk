# bench/: benchmarks that print figures (never pass/fail on timing).
BENCH_JOB_SUBMIT := $(B)/bench/bench-job-submit
BENCHES += bench-job-submit

$(BENCH_JOB_SUBMIT): $(B)/bench/job_submit.o $(LIBXENVM)
	$(CC) $(LDFLAGS) -o $@ $^ -ldl $(LIBXENVM_LIBS)

.PHONY: bench-job-submit
bench-job-submit: $(BENCH_JOB_SUBMIT) $(JOB_SUBMIT_VMIMAGE)
	$(BENCH_JOB_SUBMIT) $(JOB_SUBMIT_VMIMAGE)
