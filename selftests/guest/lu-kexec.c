// SPDX-License-Identifier: GPL-2.0
/*
 * lu-kexec: load a kernel with kexec_file_load() and reboot into it with
 * reboot(LINUX_REBOOT_CMD_KEXEC). kexec_file_load() lets the kernel add the
 * KHO (kexec handover) data, and the kexec reboot makes the live update
 * orchestrator serialize its open sessions, so this is all a guest needs to
 * hand state over to the next kernel.
 *
 *   lu-kexec --kernel PATH [--initrd PATH]
 *            [--append CMDLINE | --reuse-cmdline] [--set KEY=VALUE ...]
 *            [--try-first KEY=VALUE ...]
 *            [--load-only | --dry-run] [--debug]
 *
 * --reuse-cmdline starts from /proc/cmdline. --set KEY=VALUE replaces the
 * first "KEY=..." (or bare "KEY") word of the command line, drops any later
 * ones, or adds the word (before a "--" separator, if there is one).
 * Without --initrd the new kernel boots without an initramfs. --dry-run
 * only prints the command line.
 *
 * --try-first KEY=VALUE first tries a kexec that a live update with
 * preserved devices must refuse: the kernel is loaded with KEY=VALUE set as
 * well (after the --set words), and reboot(LINUX_REBOOT_CMD_KEXEC) must
 * fail with EOPNOTSUPP (the pre-flight: the loaded kernel could not take
 * the preserved devices over), leaving this kernel as it was. That prints
 * "LU-CHECK preflight_refused_KEY PASS|FAIL <detail>". Each --try-first is
 * one try, in order; then the kernel is loaded without them and the real
 * kexec happens, from the same process, so that the live update sessions
 * it holds open stay open.
 *
 * Exit status: 2 on any failure; nothing returns on success unless
 * --load-only or --dry-run was given (then 0).
 */
#include "lu-util.h"

#include <ctype.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/kexec.h>
#include <linux/reboot.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef KEXEC_FILE_DEBUG
#define KEXEC_FILE_DEBUG	0x00000008
#endif

/* Far above x86's COMMAND_LINE_SIZE (2048); the kernel checks the real one. */
#define CMDLINE_MAX	8192

static void usage(FILE *f)
{
	fprintf(f,
		"usage: lu-kexec --kernel PATH [--initrd PATH]\n"
		"                [--append CMDLINE | --reuse-cmdline] [--set KEY=VALUE ...]\n"
		"                [--try-first KEY=VALUE ...]\n"
		"                [--load-only | --dry-run] [--debug]\n"
		"  --kernel PATH     kernel image (bzImage) to load\n"
		"  --initrd PATH     initramfs for the new kernel (default: none)\n"
		"  --append CMDLINE  command line of the new kernel\n"
		"  --reuse-cmdline   start from this kernel's /proc/cmdline\n"
		"  --set KEY=VALUE   replace or add a KEY= word (repeatable)\n"
		"  --try-first KEY=VALUE  first a kexec with KEY=VALUE set too, which\n"
		"                    must be refused with EOPNOTSUPP (repeatable)\n"
		"  --load-only       load the image, do not reboot into it\n"
		"  --dry-run         only print the command line\n"
		"  --debug           ask the kernel to log the load (KEXEC_FILE_DEBUG)\n");
}

/* The command line as an array of words. */
struct words {
	char **w;
	size_t n;
};

static void words_add(struct words *ws, size_t at, const char *s, size_t len)
{
	char **w = realloc(ws->w, (ws->n + 1) * sizeof(*w));

	if (!w)
		lu_die("realloc");
	ws->w = w;
	memmove(&w[at + 1], &w[at], (ws->n - at) * sizeof(*w));
	w[at] = strndup(s, len);
	if (!w[at])
		lu_die("strndup");
	ws->n++;
}

static void words_del(struct words *ws, size_t at)
{
	free(ws->w[at]);
	memmove(&ws->w[at], &ws->w[at + 1], (ws->n - at - 1) * sizeof(*ws->w));
	ws->n--;
}

/*
 * Split like the kernel's next_arg(): words are separated by blanks, and a
 * double quoted part may contain blanks.
 */
static void words_split(struct words *ws, const char *s)
{
	while (*s) {
		const char *start;
		bool quoted = false;

		while (*s == ' ' || *s == '\t' || *s == '\n')
			s++;
		if (!*s)
			break;
		start = s;
		while (*s && (quoted || (*s != ' ' && *s != '\t' && *s != '\n'))) {
			if (*s == '"')
				quoted = !quoted;
			s++;
		}
		words_add(ws, ws->n, start, s - start);
	}
}

/* @v with @s added at its end; *@n counts the strings */
static char **strv_add(char **v, size_t *n, char *s)
{
	v = realloc(v, (*n + 1) * sizeof(*v));
	if (!v)
		lu_die("realloc");
	v[(*n)++] = s;
	return v;
}

/* Does @word set @key ("KEY" or "KEY=...")? */
static bool word_is_key(const char *word, const char *key, size_t keylen)
{
	return !strncmp(word, key, keylen) &&
	       (word[keylen] == '\0' || word[keylen] == '=');
}

static void words_set(struct words *ws, const char *kv)
{
	const char *eq = strchr(kv, '=');
	size_t keylen = eq ? (size_t)(eq - kv) : strlen(kv);
	bool done = false;
	size_t i, end;

	if (!keylen || strpbrk(kv, " \t\n"))
		lu_diex("--set: expected KEY=VALUE without blanks, got '%s'", kv);

	/* Only kernel parameters: stop at the "--" that starts init's. */
	for (end = 0; end < ws->n; end++)
		if (!strcmp(ws->w[end], "--"))
			break;

	for (i = 0; i < end; ) {
		if (!word_is_key(ws->w[i], kv, keylen)) {
			i++;
			continue;
		}
		if (done) {
			words_del(ws, i);
			end--;
			continue;
		}
		free(ws->w[i]);
		ws->w[i] = strdup(kv);
		if (!ws->w[i])
			lu_die("strdup");
		done = true;
		i++;
	}
	if (!done)
		words_add(ws, end, kv, strlen(kv));
}

static void words_free(struct words *ws)
{
	while (ws->n)
		words_del(ws, ws->n - 1);
	free(ws->w);
	ws->w = NULL;
}

static void words_join(const struct words *ws, char *buf, size_t size)
{
	size_t len = 0, i;

	buf[0] = '\0';
	for (i = 0; i < ws->n; i++) {
		size_t wl = strlen(ws->w[i]);

		if (len + (i ? 1 : 0) + wl + 1 > size)
			lu_diex("command line longer than %zu bytes", size - 1);
		if (i)
			buf[len++] = ' ';
		memcpy(buf + len, ws->w[i], wl + 1);
		len += wl;
	}
}

/*
 * Look at the x86 boot protocol header to say why an image was refused or
 * how long a command line it takes. Returns NULL if nothing looks wrong.
 */
static const char *bzimage_problem(int fd, uint32_t *cmdline_size)
{
	unsigned char h[0x240];
	uint16_t version, xloadflags;

	*cmdline_size = 0;
	if (pread(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h))
		return "the file is too short to be a bzImage";
	if (memcmp(&h[0x202], "HdrS", 4) || h[0x1fe] != 0x55 || h[0x1ff] != 0xaa)
		return "the file is not a bzImage (no x86 boot header)";
	version = h[0x206] | h[0x207] << 8;
	if (version < 0x020c)
		return "boot protocol older than 2.12";
	xloadflags = h[0x236] | h[0x237] << 8;
	memcpy(cmdline_size, &h[0x238], sizeof(*cmdline_size));
	if (!(h[0x211] & 1))
		return "a zImage, not a bzImage";
	if (!(xloadflags & 1))
		return "not a 64-bit kernel (XLF_KERNEL_64 clear)";
	if (!(xloadflags & 2))
		return "the image cannot be loaded above 4G (XLF_CAN_BE_LOADED_ABOVE_4G clear): build it with CONFIG_RELOCATABLE=y";
	return NULL;
}

static const char *load_hint(int err, int kernel_fd, size_t cmdline_len)
{
	static char hint[256];
	const char *problem;
	uint32_t maxlen;

	switch (err) {
	case ENOSYS:
		return "kexec_file_load() is not implemented: is CONFIG_KEXEC_FILE set?";
	case EPERM:
		return "not permitted: needs CAP_SYS_BOOT; kexec may be disabled (kernel.kexec_load_disabled, kexec_load_limit_reboot) or the kernel is locked down and the image is not signed";
	case ENOEXEC:
		problem = bzimage_problem(kernel_fd, &maxlen);
		snprintf(hint, sizeof(hint),
			 "kernel rejected the image: %s (is CONFIG_RELOCATABLE set? see the kernel log)",
			 problem ? problem : "not a kernel this kernel can load");
		return hint;
	case EKEYREJECTED:
	case EKEYREVOKED:
	case EKEYEXPIRED:
	case ENOKEY:
	case EBADMSG:
	case ENOPKG:
		return "kernel rejected the image's signature: signature checking is enforced (CONFIG_KEXEC_SIG_FORCE or lockdown) and the image is not signed with a trusted key";
	case EADDRNOTAVAIL:
		return "no room for the image in the KHO scratch memory: use a smaller kernel/initrd or boot the running kernel with a larger kho_scratch=";
	case EBUSY:
		return "another kexec load or kexec reboot is in progress";
	case EINVAL:
		bzimage_problem(kernel_fd, &maxlen);
		if (maxlen && cmdline_len > maxlen)
			snprintf(hint, sizeof(hint),
				 "the command line (%zu bytes with its NUL) is longer than the image accepts (%u)",
				 cmdline_len, maxlen);
		else
			snprintf(hint, sizeof(hint),
				 "invalid argument: bad command line or flags (see the kernel log)");
		return hint;
	case ENOMEM:
		return "out of memory, or no place to put the segments (initrd too big?)";
	case EFBIG:
	case E2BIG:
		return "kernel or initrd larger than kexec_file_load() accepts";
	default:
		return "see the kernel log";
	}
}

static const char *reboot_hint(int err)
{
	switch (err) {
	case EINVAL:
		return "no kexec image is loaded";
	case EPERM:
		return "not permitted: needs CAP_SYS_BOOT";
	case EBUSY:
		return "another kexec is in progress";
	case EOPNOTSUPP:
		return "the live update refused the kexec: the loaded kernel cannot take over a preserved device (see the kernel log)";
	default:
		return "the kexec was aborted; live update sessions may have failed to serialize (see the kernel log)";
	}
}

static int open_image(const char *what, const char *path, off_t *size)
{
	struct stat st;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		lu_die("open %s '%s'", what, path);
	if (fstat(fd, &st))
		lu_die("stat %s '%s'", what, path);
	if (!S_ISREG(st.st_mode))
		lu_diex("%s '%s' is not a regular file", what, path);
	*size = st.st_size;
	return fd;
}

/* Where the command line comes from: the options that build it */
struct cmdline_opts {
	const char *append;
	bool reuse;
	char **sets;
	size_t nsets;
};

/*
 * The command line in @buf (CMDLINE_MAX bytes): /proc/cmdline or --append,
 * with the --set words, then @extra (a KEY=VALUE word, or NULL) set too.
 */
static void build_cmdline(const struct cmdline_opts *o, const char *extra,
			  char *buf)
{
	struct words ws = { NULL, 0 };
	size_t i;

	if (o->reuse) {
		if (lu_read_text("/proc/cmdline", buf, CMDLINE_MAX) < 0)
			lu_die("read /proc/cmdline");
		words_split(&ws, buf);
	} else if (o->append) {
		words_split(&ws, o->append);
	}
	for (i = 0; i < o->nsets; i++)
		words_set(&ws, o->sets[i]);
	if (extra)
		words_set(&ws, extra);
	words_join(&ws, buf, CMDLINE_MAX);
	words_free(&ws);
}

/* kexec_file_load() @kernel and @initrd (or none) with @cmdline, or die. */
static void load_image(const char *kernel, const char *initrd,
		       const char *cmdline, unsigned long flags)
{
	off_t kernel_size, initrd_size = 0;
	int kernel_fd, initrd_fd = -1;
	size_t cmdline_len;
	long ret;

	kernel_fd = open_image("kernel", kernel, &kernel_size);
	if (initrd)
		initrd_fd = open_image("initrd", initrd, &initrd_size);
	else
		flags |= KEXEC_FILE_NO_INITRAMFS;

	/* Pass the NUL too; no command line at all if it is empty. */
	cmdline_len = cmdline[0] ? strlen(cmdline) + 1 : 0;
	ret = syscall(SYS_kexec_file_load, kernel_fd, initrd_fd, cmdline_len,
		      cmdline_len ? cmdline : NULL, flags);
	if (ret) {
		int err = errno;
		const char *hint = load_hint(err, kernel_fd, cmdline_len);

		errno = err;
		lu_die_hint(hint, "kexec_file_load(%s, %s)", kernel,
			    initrd ? initrd : "no initrd");
	}
	printf("lu-kexec: loaded %s (%lld bytes), initrd %s (%lld bytes)\n",
	       kernel, (long long)kernel_size, initrd ? initrd : "none",
	       (long long)initrd_size);
	close(kernel_fd);
	if (initrd_fd >= 0)
		close(initrd_fd);
}

/* "preflight_refused_KEY" for the word KEY=VALUE, in @name */
static void try_check_name(const char *word, char *name, size_t size)
{
	size_t len = snprintf(name, size, "preflight_refused_");
	const char *c;

	for (c = word; *c && *c != '=' && len + 1 < size; c++)
		name[len++] = isalnum((unsigned char)*c) ? *c : '_';
	name[len] = '\0';
}

/*
 * --try-first @word: a kexec into the kernel loaded with @word set as well
 * must be refused by the live update's pre-flight (EOPNOTSUPP), and this
 * kernel go on. A kexec that is not refused does not come back: the next
 * stage then is not the one expected, and its check is missing.
 */
static void try_refused(const char *kernel, const char *initrd,
			const struct cmdline_opts *o, const char *word,
			unsigned long flags, char *cmdline)
{
	const char *got;
	char name[64];
	int ret, err;

	try_check_name(word, name, sizeof(name));
	build_cmdline(o, word, cmdline);
	printf("lu-kexec: trying a kexec that must be refused: cmdline: %s\n",
	       cmdline);
	load_image(kernel, initrd, cmdline, flags);
	fflush(stdout);
	sync();
	ret = reboot(LINUX_REBOOT_CMD_KEXEC);
	err = errno;
	got = ret ? strerrorname_np(err) : "success";
	lu_check(name, ret && err == EOPNOTSUPP,
		 "reboot(LINUX_REBOOT_CMD_KEXEC) into the kernel loaded with "
		 "%s: %s%s, expected errno EOPNOTSUPP", word,
		 ret ? "errno " : "", got ? got : "unknown");
}

int main(int argc, char **argv)
{
	enum { OPT_KERNEL = 256, OPT_INITRD, OPT_APPEND, OPT_REUSE, OPT_SET,
	       OPT_TRY_FIRST, OPT_LOAD_ONLY, OPT_DRY_RUN, OPT_DEBUG, OPT_HELP };
	static const struct option opts[] = {
		{ "kernel",		required_argument,	NULL, OPT_KERNEL },
		{ "initrd",		required_argument,	NULL, OPT_INITRD },
		{ "append",		required_argument,	NULL, OPT_APPEND },
		{ "command-line",	required_argument,	NULL, OPT_APPEND },
		{ "reuse-cmdline",	no_argument,		NULL, OPT_REUSE },
		{ "set",		required_argument,	NULL, OPT_SET },
		{ "try-first",		required_argument,	NULL, OPT_TRY_FIRST },
		{ "load-only",		no_argument,		NULL, OPT_LOAD_ONLY },
		{ "dry-run",		no_argument,		NULL, OPT_DRY_RUN },
		{ "debug",		no_argument,		NULL, OPT_DEBUG },
		{ "help",		no_argument,		NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 }
	};
	const char *kernel = NULL, *initrd = NULL;
	struct cmdline_opts o = { NULL, false, NULL, 0 };
	bool load_only = false, dry_run = false;
	char **tries = NULL;
	size_t ntries = 0, i;
	unsigned long flags = 0;
	char *cmdline;
	int opt;

	lu_init_stdio();

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case OPT_KERNEL:
			kernel = optarg;
			break;
		case OPT_INITRD:
			initrd = optarg;
			break;
		case OPT_APPEND:
			o.append = optarg;
			break;
		case OPT_REUSE:
			o.reuse = true;
			break;
		case OPT_SET:
			o.sets = strv_add(o.sets, &o.nsets, optarg);
			break;
		case OPT_TRY_FIRST:
			tries = strv_add(tries, &ntries, optarg);
			break;
		case OPT_LOAD_ONLY:
			load_only = true;
			break;
		case OPT_DRY_RUN:
			dry_run = true;
			break;
		case OPT_DEBUG:
			flags |= KEXEC_FILE_DEBUG;
			break;
		case 'h':
		case OPT_HELP:
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return LU_EXIT_ERROR;
		}
	}
	if (optind < argc) {
		lu_msg("unexpected argument '%s'", argv[optind]);
		usage(stderr);
		return LU_EXIT_ERROR;
	}
	if (!kernel && !dry_run) {
		lu_msg("--kernel is required");
		usage(stderr);
		return LU_EXIT_ERROR;
	}
	if (o.append && o.reuse)
		lu_diex("--append and --reuse-cmdline exclude each other");
	if (ntries && load_only)
		lu_diex("--try-first needs the reboot: not with --load-only");

	cmdline = malloc(CMDLINE_MAX);
	if (!cmdline)
		lu_die("malloc");
	if (dry_run) {
		for (i = 0; i < ntries; i++) {
			build_cmdline(&o, tries[i], cmdline);
			printf("lu-kexec: try cmdline: %s\n", cmdline);
		}
		build_cmdline(&o, NULL, cmdline);
		printf("lu-kexec: cmdline: %s\n", cmdline);
		return 0;
	}
	for (i = 0; i < ntries; i++)
		try_refused(kernel, initrd, &o, tries[i], flags, cmdline);

	build_cmdline(&o, NULL, cmdline);
	printf("lu-kexec: cmdline: %s\n", cmdline);
	load_image(kernel, initrd, cmdline, flags);
	if (load_only)
		return 0;

	printf("lu-kexec: rebooting into the new kernel\n");
	fflush(stdout);
	sync();
	reboot(LINUX_REBOOT_CMD_KEXEC);
	lu_die_hint(reboot_hint(errno), "reboot(LINUX_REBOOT_CMD_KEXEC)");
}
