/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The version macros of <libluo-version.h> and luo_version() agree with
 * each other and with project() (PROJECT_VERSION, from meson).  Prints
 * the version.
 */
#include <stdio.h>
#include <string.h>

#include <libluo.h>

int main(void)
{
	char s[32];

	snprintf(s, sizeof(s), "%d.%d.%d", LIBLUO_VERSION_MAJOR,
		 LIBLUO_VERSION_MINOR, LIBLUO_VERSION_MICRO);
	if (strcmp(s, PROJECT_VERSION) != 0 ||
	    strcmp(LIBLUO_VERSION_STRING, PROJECT_VERSION) != 0) {
		fprintf(stderr, "the macros say %s and %s, project() %s\n", s,
			LIBLUO_VERSION_STRING, PROJECT_VERSION);
		return 1;
	}
	if (LIBLUO_VERSION_NUMBER != LIBLUO_VERSION_NUMBER_OF(
		    LIBLUO_VERSION_MAJOR, LIBLUO_VERSION_MINOR,
		    LIBLUO_VERSION_MICRO) ||
	    luo_version() != LIBLUO_VERSION_NUMBER) {
		fprintf(stderr, "LIBLUO_VERSION_NUMBER %d, luo_version() %d\n",
			LIBLUO_VERSION_NUMBER, luo_version());
		return 1;
	}
	printf("%s\n", LIBLUO_VERSION_STRING);
	return 0;
}
