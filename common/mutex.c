/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "macro.h"

int luoi_mutex_init(pthread_mutex_t *m)
{
#if LUOI_LOCK_CHECKS
	pthread_mutexattr_t attr;
	int r;

	r = pthread_mutexattr_init(&attr);
	if (r)
		return -r;
	r = pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
	if (!r)
		r = pthread_mutex_init(m, &attr);
	pthread_mutexattr_destroy(&attr);
	return -r;
#else
	return -pthread_mutex_init(m, NULL);
#endif
}
