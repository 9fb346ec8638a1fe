/* SPDX-License-Identifier: MIT */
/*
 * main.c - the kvmrun command: one table of subcommands (name, arguments,
 * one line of help, function, options), from which `kvmrun help`, each
 * command's --help and the message for an unknown command are all made.
 */
#include <ctype.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cli.h"

static int cmd_help(const struct cli_command *self, int argc, char **argv);
static int cmd_version(const struct cli_command *self, int argc, char **argv);

/* Every command, in the order `kvmrun help` lists them. */
static const struct cli_command commands[] = {
	{"run", "[OPTIONS] GUEST", "run a guest program in a VM of its own", cli_run, cli_run_usage},
	{"boot", "--kernel BZIMAGE [OPTIONS]", "boot Linux, its console on stdin/stdout", cli_boot,
	 cli_boot_usage},
	{"restore", "[OPTIONS] FILE", "go on running a guest from a snapshot (run --snapshot)",
	 cli_restore, cli_restore_usage},
	{"info", "", "this host's KVM: API version, back end, what runs, capabilities", cli_info,
	 cli_info_usage},
	{"help", "[COMMAND]", "list the commands, or print what COMMAND takes", cmd_help, NULL},
	{"version", "", "print kvmrun's version", cmd_version, NULL},
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct cli_command *find_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

/* `kvmrun help`, `kvmrun --help`, and kvmrun without arguments (on stderr). */
static void print_commands(FILE *f)
{
	fprintf(f, "Usage: kvmrun COMMAND [ARGUMENTS]\n\nCommands:\n");
	int width = 0; /* of the widest "NAME ARGS", for one column of summaries */
	for (size_t i = 0; i < NCOMMANDS; i++) {
		int w = (int)(strlen(commands[i].name) + 1 + strlen(commands[i].args));
		width = w > width ? w : width;
	}
	for (size_t i = 0; i < NCOMMANDS; i++) {
		char head[64];
		snprintf(head, sizeof(head), "%s%s%s", commands[i].name,
			 *commands[i].args ? " " : "", commands[i].args);
		fprintf(f, "  %-*s  %s\n", width, head, commands[i].summary);
	}
	fprintf(f, "\n`kvmrun COMMAND --help` or `kvmrun help COMMAND` prints what COMMAND takes.\n"
		   "`kvmrun --help` is `kvmrun help`, `kvmrun --version` is `kvmrun version`.\n");
}

void cli_print_help(const struct cli_command *cmd, FILE *f)
{
	fprintf(f, "Usage: kvmrun %s%s%s\n%c%s.\n", cmd->name, *cmd->args ? " " : "", cmd->args,
		toupper((unsigned char)cmd->summary[0]), cmd->summary + 1);
	if (cmd->usage) {
		fputc('\n', f);
		cmd->usage(f);
	}
}

int cli_no_arguments(const struct cli_command *cmd, int argc, char **argv)
{
	if (argc == 1)
		return 1;
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		cli_print_help(cmd, stdout);
		return 0;
	}
	fprintf(stderr, "kvmrun %s: takes no arguments (try kvmrun %s --help)\n", cmd->name,
		cmd->name);
	return -KVMRUN_EXIT_VMM_ERROR;
}

/* "kvmrun: unknown command 'x'; the commands are run, info, help and version ..." */
static int unknown_command(const char *what, const char *name)
{
	fprintf(stderr, "%s '%s'; the commands are", what, name);
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(stderr, "%s %s", i == 0 ? "" : i + 1 == NCOMMANDS ? " and" : ",",
			commands[i].name);
	fprintf(stderr, " (try kvmrun help)\n");
	return KVMRUN_EXIT_VMM_ERROR;
}

/* `kvmrun help [COMMAND]` */
static int cmd_help(const struct cli_command *self, int argc, char **argv)
{
	if (argc > 2) {
		fprintf(stderr, "kvmrun help: takes at most one COMMAND (try kvmrun help help)\n");
		return KVMRUN_EXIT_VMM_ERROR;
	}
	if (argc == 1) {
		print_commands(stdout);
		return 0;
	}
	/* `kvmrun help --help` is `kvmrun help help`, as for every other command. */
	bool self_help = !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h");
	const struct cli_command *cmd = self_help ? self : find_command(argv[1]);
	if (!cmd)
		return unknown_command("kvmrun help: no command", argv[1]);
	cli_print_help(cmd, stdout);
	return 0;
}

/* `kvmrun version` */
static int cmd_version(const struct cli_command *self, int argc, char **argv)
{
	int rc = cli_no_arguments(self, argc, argv);
	if (rc <= 0)
		return -rc;
	printf("kvmrun %s\n", KR_VERSION);
	return 0;
}

/* The guest needs none of what our parent left open: close it before anything. */
static void close_inherited_fds(void)
{
	if (syscall(SYS_close_range, 3u, ~0u, 0u) < 0) {
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
	}
}

int main(int argc, char **argv)
{
	close_inherited_fds();
	if (argc < 2) {
		print_commands(stderr);
		return KVMRUN_EXIT_VMM_ERROR;
	}
	const char *name = argv[1];
	/* The two options every program has are commands here. */
	if (!strcmp(name, "--help") || !strcmp(name, "-h"))
		name = "help";
	else if (!strcmp(name, "--version"))
		name = "version";
	const struct cli_command *cmd = find_command(name);
	if (!cmd)
		return unknown_command("kvmrun: unknown command", name);
	return cmd->main(cmd, argc - 1, argv + 1);
}
