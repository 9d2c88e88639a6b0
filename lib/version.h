/*
 * version.h - comparing version strings the way Debian does (dpkg's upstream-version order), for
 * --vm-require and the catalog's versioned attributes (xenvm-require(7)).
 */
#ifndef XENVM_VERSION_H
#define XENVM_VERSION_H

/*
 * <0, 0 or >0 as a is older than, the same as or newer than b.  Runs of digits compare as
 * numbers (leading zeros ignored: 12 > 9, 1.010 == 1.10); other characters compare as in dpkg:
 * letters before non-letters, '~' before everything, even the end ("1.0~rc1" < "1.0").  So
 * "6.1.0-28-amd64" > "6.1" and "12" < "12.1".  Never fails; NULL sorts before any string.
 */
int xenvm_version_cmp(const char *a, const char *b);

#endif
