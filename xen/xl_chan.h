/*
 * xl_chan.h - the guest agent's link under Xen: a secondary PV console of the domain
 * (xenstore device/console/<devid>, /dev/hvc<devid> in a Linux guest) whose backend is the
 * calling process itself, so that no xenconsoled change and no QEMU device model are needed.
 *
 * Why our own backend: Xen 4.17's xenconsoled serves only a domain's primary console (the one
 * that carries the guest's log), and libxenlight backs every other console and every channel
 * (`channel=[...]`, connection=pty|socket) with QEMU's xen-console device, i.e. one
 * qemu-system-xen process per domU in dom0 (libxl__need_xenpv_qemu).  A PV console backend is
 * one grant-mapped page and one event channel: a few hundred lines here against a device
 * model per VM (memory, start-up time under nested TCG, an extra package in dom0).
 *
 * Use: xl_chan_add() while the domain is still paused (before its kernel enumerates xenbus),
 * then xl_chan_serve() in the process that owns the link; xl_chan_remove() when the domain is
 * gone (libxenlight does not know the device, so its destroy leaves the backend nodes).
 *
 * Every function returns 0 on success or -1 with errno set and, when err is not NULL, a
 * one-line message in err.
 */
#ifndef XENVM_XL_CHAN_H
#define XENVM_XL_CHAN_H

#include <stdint.h>

#include "lib/error.h"

/* The console device the agent uses: devid 1 is /dev/hvc1 in the guest (hvc0 is the log). */
#define XL_CHAN_AGENT_DEVID 1u

/* Write the frontend (/local/domain/<domid>/device/console/<devid>) and backend
 * (/local/domain/0/backend/console/<domid>/<devid>) nodes of a console device named `name`,
 * replacing any left from an earlier domain of that id.  devid is 1..9 (the guest reads one
 * digit).  Returns 0, or -1 with errno EINVAL or EIO (xenstore refused). */
int xl_chan_add(uint32_t domid, unsigned int devid, const char *name, struct xerr *err);

/* Record in the backend's nodes which process serves the device (its supervisor), so that
 * a listing by domain name can tell a served VM from a stray domain.  Returns 0, or -1 with
 * errno EIO. */
int xl_chan_set_owner(uint32_t domid, unsigned int devid, int pid, struct xerr *err);
/* The pid xl_chan_set_owner() recorded, or 0 (none, or no such device). */
int xl_chan_owner(uint32_t domid, unsigned int devid);

/* Remove both nodes; nodes already gone are success.  Returns 0, or -1 with errno EIO. */
int xl_chan_remove(uint32_t domid, unsigned int devid, struct xerr *err);

/*
 * Be the device's backend and relay its bytes to and from fd (a connected stream socket,
 * made non-blocking here): guest output goes to fd, what fd delivers goes to the guest.
 * Connects when the guest's frontend is initialised and reconnects if it starts over.
 * Returns 0 when the domain shut down, crashed or is gone, or when fd reached end of file;
 * -1 with errno on a failure of Xen's interfaces (EIO) or of fd.
 */
int xl_chan_serve(uint32_t domid, unsigned int devid, int fd, struct xerr *err);

#endif
