/* ctx_alloc.c - sbatch and salloc (S_CTX_ALLOCATOR): validate and hand on the request. */
#include "xspank.h"

int xspank_alloc_post_opt(spank_t sp)
{
	return xspank_request_submit(sp, false);
}
