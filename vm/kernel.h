/*
 * kernel.h - the kernel file a driver boots: an uncompressed vmlinux derived from a bzImage.
 *
 * A bzImage carries the kernel as a compressed ELF behind a small decompressor.  Booting the ELF
 * itself skips that decompression: under QEMU/TCG the emulated decompressor costs ~3x the boot
 * (and QEMU enters the ELF directly through its PVH note); under Xen, libxenlight's PV domain
 * builder decompresses a bzImage in dom0 (15 s of a nested test node's boot, ~0.3 s on real
 * hardware) but loads an ELF as it is.  The derived file is written once, beside the kernel (in
 * an image cache directory: imagecast counts it against cache.max_size and evicts it with the
 * image), with holes where the ELF has zero pages (30 MB of disk for a 65 MB vmlinux).
 */
#ifndef XENVM_VM_KERNEL_H
#define XENVM_VM_KERNEL_H

#include <stddef.h>

/*
 * Writes into out (len bytes) the path to boot for kernel: "<kernel>.vmlinux" when it exists
 * and is not older than kernel, or when it could be derived now (kernel is a bzImage with an XZ
 * payload, as Debian's are, and the directory is writable); otherwise kernel itself, so a
 * failure only costs boot time.  Concurrent callers are safe (a private temporary file, then
 * rename(2)).  Returns 1 when out is the derived file, 0 when it is kernel, -1 with errno EINVAL
 * (NULL argument) or ENAMETOOLONG (out too small for either path).
 */
int xvm_kernel_boot_path(const char *kernel, char *out, size_t len);

/*
 * Decompress the XZ stream of the bzImage at kernel into the new file out (mode 0644), sparse
 * where the data is zero, and check that it is an ELF.  Returns 0, or -1 with errno: ENOEXEC
 * (no XZ stream, or the result is not an ELF), EBADMSG (corrupt stream), EFBIG (kernel over
 * 64 MiB or the result over 512 MiB), ENOMEM, or open/write's errno.  out is removed on failure.
 */
int xvm_kernel_extract_elf(const char *kernel, const char *out);

#endif
