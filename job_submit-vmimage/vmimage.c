/*
 * vmimage.c - see vmimage.h.
 *
 * Per job this costs a scan of the job's spank environment, a reference to the catalog in force
 * (a short mutex: the catalog is loaded by its own thread, never here) and a hash lookup, or for
 * --vm-require a lookup of the requirement's remembered matches; bench/job_submit measures it.
 */
#include "vmimage.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <slurm/slurm_errno.h>

#include "lib/catalog_match.h"
#include "lib/config_path.h"
#include "lib/log.h"
#include "lib/request.h"
#include "slurm_alloc.h"
#include "lib/units.h"

#define MB (1024ULL * 1024ULL)
/* How often the reload thread looks at images.yaml, and how long init waits for it. */
#define CATALOG_POLL_MS 1000
#define CATALOG_START_WAIT_MS 2000

int vmimage_init(struct vmimage_plugin *p)
{
	char path[PATH_MAX];
	struct xerr err;

	memset(p, 0, sizeof(*p));
	if (!xenvm_config_path(NULL, path, sizeof(path)) ||
	    xenvm_config_load(path, true, &p->cfg, &err) < 0) {
		/* slurmctld must keep running for non-VM jobs; VM jobs are refused with the reason.
		 */
		xerror("%s; VM jobs will be rejected until it is fixed and slurmctld reconfigured",
		       err.msg);
		p->config_error = strdup(err.msg);
		p->cfg = xenvm_config_defaults();
		if (!p->cfg)
			return SLURM_ERROR;
	}
	struct xenvm_catalog_live_opts opts = {
	    .path = p->cfg->catalog,
	    .limits = XENVM_CATALOG_LIMITS_DEFAULT,
	    .poll_ms = CATALOG_POLL_MS,
	    .start_wait_ms = CATALOG_START_WAIT_MS,
	};
	/* The first load runs on the reload thread too: init waits for it, but not for long. */
	if (xenvm_catalog_live_start(&opts, &p->catalog, &err) < 0) {
		xerror("%s", err.msg);
		return SLURM_ERROR;
	}
	if (xenvm_catalog_live_stats(p->catalog).loading)
		xinfo("catalog %s is still loading; VM jobs are refused until it has loaded",
		      p->cfg->catalog);
	return SLURM_SUCCESS;
}

void vmimage_fini(struct vmimage_plugin *p)
{
	xenvm_catalog_live_stop(p->catalog);
	xenvm_config_free(p->cfg);
	free(p->config_error);
	memset(p, 0, sizeof(*p));
}

/* Set NAME=value in the job's spank environment, replacing an earlier NAME. */
static int spank_env_set(job_desc_msg_t *job, const char *name, const char *value)
{
	size_t len = strlen(name);
	char *entry = slurm_xstrdup_printf("%s=%s", name, value);

	for (uint32_t i = 0; i < job->spank_job_env_size; i++) {
		char *s = job->spank_job_env[i];

		if (s && strncmp(s, name, len) == 0 && s[len] == '=') {
			slurm_xfree_ptr(s);
			job->spank_job_env[i] = entry;
			return 0;
		}
	}
	slurm_xrecalloc((void **)&job->spank_job_env, job->spank_job_env_size + 1, sizeof(char *),
	                true, false, __FILE__, __LINE__, __func__);
	job->spank_job_env[job->spank_job_env_size++] = entry;
	return 0;
}

static int reject(char **err_msg, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int reject(char **err_msg, int code, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (err_msg) {
		if (*err_msg)
			slurm_xfree_ptr(*err_msg);
		*err_msg = slurm_xstrdup_printf("xenvm: %s", buf);
	}
	xverbose("rejected a job: %s", buf);
	return code;
}

/* Whether any entry is XENVM_*: most jobs ask for no VM and must cost next to nothing. */
static bool mentions_xenvm(char **v, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (v[i] && strncmp(v[i], "XENVM_", 6) == 0)
			return true;
	return false;
}

/* The request from the spank environment (srun/sbatch/salloc), else the job's (slurmrestd). */
static int read_request(job_desc_msg_t *job, struct xenvm_request *req, struct xerr *err)
{
	struct xenvm_envv spank = {job->spank_job_env, job->spank_job_env_size};
	struct xenvm_envv env = {job->environment, job->env_size};
	int rc = 0;

	if (mentions_xenvm(spank.v, spank.n)) {
		rc = xenvm_request_from_env(req, "", xenvm_getenv_array, &spank, &xenvm_source_env,
		                            err);
		if (rc != 0)
			return rc;
	}
	if (mentions_xenvm(env.v, env.n))
		rc = xenvm_request_from_env(req, "", xenvm_getenv_array, &env, &xenvm_source_env,
		                            err);
	return rc;
}

static int unknown_image(const struct xenvm_catalog *cat, const char *name, char **err_msg)
{
	const char *close[3];
	size_t n = xenvm_catalog_suggest(cat, name, close, 3);
	char hint[512] = "";
	size_t used = 0;

	for (size_t i = 0; i < n && used < sizeof(hint); i++)
		used += (size_t)snprintf(hint + used, sizeof(hint) - used, "%s%s", i ? ", " : "",
		                         close[i]);
	if (n)
		return reject(err_msg, ESLURM_INVALID_FEATURE,
		              "unknown VM image '%s'; did you mean: %s?", name, hint);
	return reject(
	    err_msg, ESLURM_INVALID_FEATURE,
	    "unknown VM image '%s' (the catalog has %zu images; ask your site which to use)", name,
	    cat->n_images);
}

/* Add "&f1&f2" for the image's features, keeping the user's own constraint intact. */
static void add_features(job_desc_msg_t *job, const struct xenvm_image *img)
{
	char *feat = NULL;

	if (!img->n_features)
		return;
	for (size_t i = 0; i < img->n_features; i++) {
		char *next;

		if (!feat)
			next =
			    job->features && *job->features
			        ? slurm_xstrdup_printf("(%s)&%s", job->features, img->features[i])
			        : slurm_xstrdup(img->features[i]);
		else
			next = slurm_xstrdup_printf("%s&%s", feat, img->features[i]);
		if (feat)
			slurm_xfree_ptr(feat);
		feat = next;
	}
	if (job->features)
		slurm_xfree_ptr(job->features);
	job->features = feat;
}

/* xenvm_permit_fn over xenvm_image_permits(): a denied or failed check is not a match. */
static bool permitted(const struct xenvm_image *img, void *ctx)
{
	return xenvm_image_permits(img, ctx, NULL) == 0;
}

/* No image met the requirements: say which came closest and what each misses. */
static int no_match(const struct xenvm_catalog *cat, const struct xenvm_request *req,
                    const struct xenvm_near_miss *near, size_t n_near, char **err_msg)
{
	char list[2048] = "", family[XENVM_IMAGE_NAME_MAX + 32] = "";
	size_t used = 0;

	if (req->image[0])
		snprintf(family, sizeof(family), " in family '%s'", req->image);
	for (size_t i = 0; i < n_near && used < sizeof(list); i++) {
		int n = snprintf(list + used, sizeof(list) - used, "%s%s misses %s", i ? "; " : "",
		                 near[i].img->name, near[i].missed);

		if (n < 0)
			break;
		used += (size_t)n;
	}
	if (n_near)
		return reject(err_msg, ESLURM_INVALID_FEATURE,
		              "no image you may use matches --vm-require='%s'%s; closest: %s",
		              req->require, family, list);
	return reject(err_msg, ESLURM_INVALID_FEATURE,
	              "no image you may use matches --vm-require='%s'%s (the catalog has %zu "
	              "images)",
	              req->require, family, cat->n_images);
}

/* The image the job asked for, by name or by requirements; SLURM_SUCCESS or a rejection. */
static int choose_image(const struct xenvm_catalog *cat, const struct xenvm_request *req,
                        struct xenvm_requester *who, const struct xenvm_image **img, char **err_msg)
{
	struct xenvm_near_miss near[XENVM_NEAR_MISS_MAX];
	struct xenvm_requirements r;
	struct xerr err;
	size_t n_near = 0;
	int rc;

	if (!req->require[0]) {
		*img = xenvm_catalog_find(cat, req->image);
		if (!*img)
			return unknown_image(cat, req->image, err_msg);
		if (xenvm_image_permits(*img, who, &err) < 0)
			return reject(err_msg, ESLURM_ACCESS_DENIED, "%s", err.msg);
		return SLURM_SUCCESS;
	}
	if (xenvm_require_parse(XENVM_REQ_REQUIRE, req->require, &r, &err) < 0)
		return reject(err_msg, ESLURM_INVALID_FEATURE, "%s", err.msg);
	rc = xenvm_catalog_match(cat, &r, req->image[0] ? req->image : NULL, permitted, who, img,
	                         near, &n_near);
	if (rc < 0)
		return reject(err_msg, SLURM_ERROR, "--vm-require: %s", strerror(errno));
	if (rc == 0)
		return no_match(cat, req, near, n_near, err_msg);
	return SLURM_SUCCESS;
}

/* The job's request against catalog `cat`. */
static int submit_with(struct vmimage_plugin *p, const struct xenvm_catalog *cat,
                       job_desc_msg_t *job, const struct xenvm_request *req, uint32_t submit_uid,
                       char **err_msg)
{
	const struct xenvm_image *img = NULL;
	struct xenvm_requester who;
	uint64_t mem, need_mb;
	char num[32], a[32], b[32];
	int rc;

	who.uid = job->user_id != NO_VAL ? job->user_id : submit_uid;
	who.gid = job->group_id != NO_VAL ? job->group_id : (gid_t)-1;
	who.user = NULL;
	who.account = job->account;
	who.partition = job->partition;
	rc = choose_image(cat, req, &who, &img, err_msg);
	if (rc != SLURM_SUCCESS)
		return rc;

	mem = req->mem_bytes ? req->mem_bytes : img->limits.default_bytes;
	if (!mem)
		mem = p->cfg->vm.default_memory_bytes;
	if (req->mem_bytes && req->mem_bytes > img->limits.max_bytes)
		return reject(err_msg, ESLURM_INVALID_TASK_MEMORY,
		              "--vm-mem=%s is more than image '%s' allows (%s)",
		              xenvm_format_size(req->mem_bytes, a, sizeof(a)), img->name,
		              xenvm_format_size(img->limits.max_bytes, b, sizeof(b)));
	if (req->vcpus && req->vcpus > img->limits.vcpus_max)
		return reject(err_msg, ESLURM_INVALID_CPU_COUNT,
		              "--vm-vcpus=%u is more than image '%s' allows (%u)", req->vcpus,
		              img->name, img->limits.vcpus_max);
	if (req->root && !img->allow_root)
		return reject(err_msg, ESLURM_ACCESS_DENIED,
		              "--vm-root: image '%s' does not allow root in the guest", img->name);

	need_mb = (mem + p->cfg->vm.memory_overhead_bytes + MB - 1) / MB;
	if (job->pn_min_memory == NO_VAL64) {
		job->pn_min_memory = need_mb;
	} else if (!(job->pn_min_memory & MEM_PER_CPU) && job->pn_min_memory < need_mb) {
		return reject(err_msg, ESLURM_INVALID_TASK_MEMORY,
		              "the job asks for %" PRIu64 "M per node but its VM needs %" PRIu64
		              "M (VM %s + overhead); raise --mem or lower --vm-mem",
		              job->pn_min_memory, need_mb, xenvm_format_size(mem, a, sizeof(a)));
	}
	add_features(job, img);

	/* Pin what the Prolog will boot: a catalog edit after this does not change the job. */
	spank_env_set(job, XENVM_REQ_IMAGE, img->name);
	spank_env_set(job, XENVM_REQ_DIGEST, img->digest);
	/* For the image manager's collector (imgstore/jobs.h): users cannot set AdminComment. */
	if (!job->admin_comment)
		job->admin_comment = slurm_xstrdup_printf("xenvm:%s", img->digest);
	snprintf(num, sizeof(num), "%" PRIu64, mem);
	spank_env_set(job, XENVM_REQ_MEM, num);
	if (req->vcpus) {
		snprintf(num, sizeof(num), "%u", req->vcpus);
		spank_env_set(job, XENVM_REQ_VCPUS, num);
	}
	if (req->require[0]) {
		/* sbatch, srun and salloc print a successful job_submit's message to the user */
		spank_env_set(job, XENVM_REQ_REQUIRE, req->require);
		if (err_msg) {
			if (*err_msg)
				slurm_xfree_ptr(*err_msg);
			*err_msg = slurm_xstrdup_printf("xenvm: --vm-require matched %s (%s)",
			                                img->name, img->digest);
		}
	}
	xverbose("job for uid %u: image %s %s, %" PRIu64 "M per node", (unsigned)who.uid, img->name,
	         img->digest, job->pn_min_memory);
	return SLURM_SUCCESS;
}

int vmimage_submit(struct vmimage_plugin *p, job_desc_msg_t *job, uint32_t submit_uid,
                   char **err_msg)
{
	struct xenvm_request req;
	struct xenvm_catalog *cat;
	struct xerr err;
	bool loading = false;
	int rc;

	if (!job)
		return SLURM_ERROR;
	rc = read_request(job, &req, &err);
	if (rc == 0)
		return SLURM_SUCCESS; /* no VM: nothing to do, and nothing else is read */
	if (rc < 0)
		return reject(err_msg, ESLURM_INVALID_FEATURE, "%s", err.msg);
	if (p->config_error)
		return reject(err_msg, SLURM_ERROR, "VM jobs are unavailable: %s", p->config_error);

	/* Never waits for a load: the reload thread swaps a parsed catalog in. */
	cat = xenvm_catalog_live_get(p->catalog, &loading);
	if (!cat && loading)
		return reject(err_msg, SLURM_ERROR,
		              "VM jobs are unavailable: the image catalog is still being loaded "
		              "(slurmctld started a moment ago); submit again shortly");
	if (!cat)
		return reject(err_msg, SLURM_ERROR,
		              "VM jobs are unavailable: the image catalog "
		              "could not be loaded (the site's admins have the details in "
		              "slurmctld's log)");
	rc = submit_with(p, cat, job, &req, submit_uid, err_msg);
	xenvm_catalog_put(cat);
	return rc;
}
