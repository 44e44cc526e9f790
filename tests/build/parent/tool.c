/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The parent project's installed program: prints the version of libluo it
 * was compiled with and the one it runs with, and whether this machine
 * has the live update device.
 */
#include <stdio.h>

#include <libluo.h>

int main(void)
{
	if (luo_version() < LIBLUO_VERSION_NUMBER) {
		fprintf(stderr, "parent-tool: libluo %d is older than its "
			"headers (%s)\n", luo_version(), LIBLUO_VERSION_STRING);
		return 1;
	}
	printf("parent-tool: libluo %s (runtime %d), %s\n",
	       LIBLUO_VERSION_STRING, luo_version(),
	       luo_is_available() ? "device present" : "no device");
	return 0;
}
