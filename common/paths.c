/*
 * paths.c - default locations (XDG), and mkdir -p.
 */
#include "paths.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void swb_default_data_dir(char *out, size_t len)
{
	const char *env = getenv("SWB_DATA"), *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
	if (env && *env)
		snprintf(out, len, "%s", env);
	else if (xdg && *xdg)
		snprintf(out, len, "%s/switchboard", xdg);
	else
		snprintf(out, len, "%s/.local/share/switchboard", home && *home ? home : "/tmp");
}

void swb_default_ipc_url(char *out, size_t len, int create)
{
	char dir[SWB_PATH_MAX];
	const char *run = getenv("XDG_RUNTIME_DIR");
	if (run && *run && access(run, W_OK) == 0)
		snprintf(dir, sizeof dir, "%s/switchboard", run);
	else
		snprintf(dir, sizeof dir, "/tmp/switchboard-%u", (unsigned)getuid());
	if (create)
		swb_mkdir_p(dir, 0700);
	snprintf(out, len, "ipc://%s/node.ipc", dir);
}

int swb_mkdir_p(const char *path, unsigned mode)
{
	char buf[SWB_PATH_MAX];
	if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, mode) != 0 && errno != EEXIST)
		return -1;
	return 0;
}
