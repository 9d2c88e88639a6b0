/*
 * fault.h - whose fault a failed step of a job's life on this node is.
 *
 * The Prolog's exit status is the failure policy (xenvm-prolog(8)): a node fault drains the node
 * and requeues the job, a job fault fails the job with the reason and keeps the node in service.
 */
#ifndef XENVM_NODE_FAULT_H
#define XENVM_NODE_FAULT_H

enum xvm_fault {
	XVM_FAULT_NONE = 0,
	XVM_FAULT_JOB,  /* the job's image or request (does not boot, never ready, no VF allowed) */
	XVM_FAULT_NODE, /* this node cannot run VMs (driver, bridge, state dir, VF pool): drain it
	                 */
};

#endif
