/*
 * tools.h - the one-shot modes of swb-node: --check-config and --dry-run.
 */
#ifndef SWB_TOOLS_H
#define SWB_TOOLS_H

/* Validates the workspace file at path (NULL: the embedded default); prints every
 * error to stderr with its place. Returns the process exit code (0 valid, 1 not). */
int swb_tool_check_config(const char *path);

/* Prints, as JSON on stdout, where task_json ({"attributes":..., "priority":...,
 * "task_channel":..., "workflow_sid":...}) would be routed in the workspace at path. */
int swb_tool_dry_run(const char *path, const char *task_json);

#endif
