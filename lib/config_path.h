/*
 * config_path.h - where a program finds xenvm.yaml.
 *
 * In order: an explicit path (a plugstack.conf `config=` argument or a -c option), then
 * $XENVM_CONFIG, then xenvm.yaml beside slurm.conf ($SLURM_CONF's directory) when that file
 * exists, then /etc/xenvm/xenvm.yaml.  slurmctld plugins and the Prolog receive no arguments,
 * so "beside slurm.conf" is what keeps a site's Slurm and xenvm configuration together.
 */
#ifndef XENVM_CONFIG_PATH_H
#define XENVM_CONFIG_PATH_H

#include <stddef.h>

/* Writes the chosen path into buf; returns buf, or NULL with errno ENAMETOOLONG/EINVAL. */
char *xenvm_config_path(const char *explicit_path, char *buf, size_t len);

#endif
