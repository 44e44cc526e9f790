/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The main() of a suite that needs no setup (harness_main_dep). */
#include "harness.h"

int main(int argc, char *argv[])
{
	return harness_run(argc, argv, NULL);
}
