// SPDX-License-Identifier: GPL-2.0
/*
 * luo-memfd: preserve a memfd across a kexec with the live update
 * orchestrator (LUO) and check it came back intact.
 *
 *   luo-memfd preserve [OPTIONS] [-- CMD [ARGS...]]   (before the kexec)
 *   luo-memfd verify [OPTIONS]                        (after the kexec)
 *
 * OPTIONS (must be the same for both stages):
 *   --session NAME  LUO session name (default "lu-memfd")
 *   --token N       token of the memfd in the session (default 1)
 *   --size BYTES    memfd size, K/M/G suffixes allowed (default 3166331)
 *   --seed N        seed of the data pattern (default 0x4c55)
 *
 * The default size is 3 MiB + 5 pages + 123 bytes: it spans 774 4K pages,
 * crosses a 2 MiB boundary (so a huge folio split or merge would show) and
 * ends in the middle of a page (so the exact i_size must be kept).
 *
 * Every byte is a function of its offset in the file and the seed (one
 * 64-bit hash per 8-byte word), so a page restored at the wrong offset, a
 * zeroed page or data from another run all fail the check.
 *
 * preserve: creates the session, fills a memfd, preserves it under the
 * token and prints "LU-RESULT memfd_preserved <size>". A session is
 * dropped, with everything preserved in it, when its last file descriptor
 * is closed, so something has to hold it until the kexec reboot. As in the
 * kernel's LUO selftests, this process keeps it: with "-- CMD" it runs CMD
 * (for example lu-kexec) with the session fd inherited, waits for it, and
 * if CMD returns (no reboot happened) exits with CMD's exit status, which
 * releases the session. Without CMD it leaves a background holder process
 * (like the selftests' daemonize_and_wait()) and exits 0.
 *
 * verify: retrieves the session and the memfd, prints
 * "LU-CHECK memfd_size PASS|FAIL ..." and "LU-CHECK memfd_contents
 * PASS|FAIL ...", then finishes the session (LIVEUPDATE_SESSION_FINISH) so
 * the kernel releases the preserved memory.
 *
 * Exit status: 0 all checks passed, 1 a check failed, 2 an error (failing
 * syscall, no such session, bad usage).
 */
#include "lu-util.h"

#include <fcntl.h>
#include <getopt.h>
#include <linux/liveupdate.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define LUO_DEVICE	"/dev/liveupdate"

#define DEFAULT_SESSION	"lu-memfd"
#define DEFAULT_TOKEN	1
#define DEFAULT_SIZE	(3 * 1024 * 1024 + 5 * 4096 + 123)
#define DEFAULT_SEED	0x4c55

#define CHUNK		(1024 * 1024)

struct params {
	const char *session;
	uint64_t token;
	uint64_t size;
	uint64_t seed;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: luo-memfd preserve [OPTIONS] [-- CMD [ARGS...]]\n"
		"       luo-memfd verify [OPTIONS]\n"
		"  --session NAME  LUO session name (default \"%s\")\n"
		"  --token N       memfd token in the session (default %d)\n"
		"  --size BYTES    memfd size, K/M/G suffixes (default %d)\n"
		"  --seed N        data pattern seed (default %#x)\n"
		"preserve keeps the session open while CMD runs (or, without CMD,\n"
		"in a background holder process); verify checks the memfd after\n"
		"the kexec and finishes the session.\n",
		DEFAULT_SESSION, DEFAULT_TOKEN, DEFAULT_SIZE, DEFAULT_SEED);
}

/* The data pattern: a 64-bit mix of the seed and the word index. */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static void fill_pattern(unsigned char *buf, uint64_t off, size_t len,
			 uint64_t seed)
{
	uint64_t key = mix64(seed + 0x9e3779b97f4a7c15ULL);
	uint64_t word = 0;
	size_t i;

	for (i = 0; i < len; i++, off++) {
		if (i == 0 || !(off & 7))
			word = mix64(key ^ (off >> 3));
		buf[i] = word >> ((off & 7) * 8);
	}
}

static int luo_open(void)
{
	int fd = open(LUO_DEVICE, O_RDWR | O_CLOEXEC);

	if (fd >= 0)
		return fd;
	switch (errno) {
	case ENOENT:
		lu_die_hint("live update is off: boot with liveupdate=on (and CONFIG_LIVEUPDATE=y); is devtmpfs mounted?",
			    "open %s", LUO_DEVICE);
	case EBUSY:
		lu_die_hint("another process has it open, only one may",
			    "open %s", LUO_DEVICE);
	case EIO:
		lu_die_hint("the sessions handed over by the previous kernel could not be restored, see the kernel log",
			    "open %s", LUO_DEVICE);
	default:
		lu_die("open %s", LUO_DEVICE);
	}
}

static void set_name(__u8 *dst, const char *name)
{
	memset(dst, 0, LIVEUPDATE_SESSION_NAME_LENGTH);
	memcpy(dst, name, strlen(name));
}

static uint64_t write_pattern(int fd, const struct params *p)
{
	unsigned char *buf = malloc(CHUNK);
	uint64_t off;

	if (!buf)
		lu_die("malloc");
	if (ftruncate(fd, p->size))
		lu_die("ftruncate memfd to %llu bytes",
		       (unsigned long long)p->size);
	for (off = 0; off < p->size; ) {
		size_t len = p->size - off < CHUNK ? p->size - off : CHUNK;
		size_t done = 0;

		fill_pattern(buf, off, len, p->seed);
		while (done < len) {
			ssize_t n = pwrite(fd, buf + done, len - done,
					   off + done);

			if (n < 0)
				lu_die("write memfd at offset %llu",
				       (unsigned long long)(off + done));
			done += n;
		}
		off += len;
	}
	free(buf);
	return off;
}

/* Start a process that only holds the session fd, then return. */
static void spawn_holder(void)
{
	pid_t pid;
	int fd;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		lu_die("fork");
	if (pid > 0) {
		printf("luo-memfd: holder process %d keeps the session open until the kexec\n",
		       (int)pid);
		return;
	}
	/* Let a pipe on our stdout see EOF; keep nothing but the session. */
	setsid();
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	if (chdir("/"))
		_exit(1);
	for (;;)
		pause();
}

static int run_cmd(char **cmd)
{
	int status = lu_spawn_wait(cmd);

	if (WIFEXITED(status)) {
		lu_msg("%s exited with status %d and the machine did not reboot; session released",
		       cmd[0], WEXITSTATUS(status));
		return WEXITSTATUS(status);
	}
	lu_msg("%s was killed by signal %d (%s) and the machine did not reboot; session released",
	       cmd[0], WTERMSIG(status), strsignal(WTERMSIG(status)));
	return 128 + WTERMSIG(status);
}

static int do_preserve(const struct params *p, char **cmd)
{
	struct liveupdate_ioctl_create_session create = {
		.size = sizeof(create),
	};
	struct liveupdate_session_preserve_fd preserve = {
		.size = sizeof(preserve),
	};
	int luo_fd, session_fd, mfd;
	uint64_t written;

	luo_fd = luo_open();

	set_name(create.name, p->session);
	if (ioctl(luo_fd, LIVEUPDATE_IOCTL_CREATE_SESSION, &create)) {
		if (errno == EEXIST)
			lu_die_hint("a session of that name is already open in this boot",
				    "create session '%s'", p->session);
		lu_die("create session '%s'", p->session);
	}
	session_fd = create.fd;

	mfd = memfd_create("lu-memfd", MFD_CLOEXEC);
	if (mfd < 0)
		lu_die("memfd_create");
	written = write_pattern(mfd, p);

	preserve.fd = mfd;
	preserve.token = p->token;
	if (ioctl(session_fd, LIVEUPDATE_SESSION_PRESERVE_FD, &preserve)) {
		const char *hint = NULL;

		if (errno == EEXIST)
			hint = "the token is already used in this session";
		else if (errno == ENOENT)
			hint = "no LUO handler takes memfds: is CONFIG_LIVEUPDATE_MEMFD set?";
		lu_die_hint(hint, "preserve memfd with token %llu in session '%s'",
			    (unsigned long long)p->token, p->session);
	}

	/*
	 * LUO holds its own reference to the preserved file; only the session
	 * fd has to stay open. /dev/liveupdate is exclusive, let it go.
	 */
	close(mfd);
	close(luo_fd);

	/* The kernel creates session fds close-on-exec; CMD should hold it too. */
	if (fcntl(session_fd, F_SETFD, 0))
		lu_die("clear FD_CLOEXEC on the session fd");

	printf("luo-memfd: session '%s' token %llu: preserved %llu bytes, seed %#llx\n",
	       p->session, (unsigned long long)p->token,
	       (unsigned long long)written, (unsigned long long)p->seed);
	lu_result("memfd_preserved", "%llu", (unsigned long long)written);

	if (!cmd || !cmd[0]) {
		spawn_holder();
		return LU_EXIT_PASS;
	}
	return run_cmd(cmd);
}

struct cmp_state {
	uint64_t bad_bytes;
	uint64_t bad_pages;
	uint64_t first_bad;
	int first_exp, first_got;
	bool first_page_zero;
	bool any_bad;
};

static bool all_zero(const unsigned char *b, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i])
			return false;
	return true;
}

/* Compare one chunk (starting on a page boundary) page by page. */
static void compare_chunk(struct cmp_state *st, const unsigned char *got,
			  const unsigned char *exp, uint64_t off, size_t len,
			  size_t page)
{
	size_t pg, i;

	for (pg = 0; pg < len; pg += page) {
		size_t plen = len - pg < page ? len - pg : page;
		bool bad = false;

		if (!memcmp(got + pg, exp + pg, plen))
			continue;
		for (i = pg; i < pg + plen; i++) {
			if (got[i] == exp[i])
				continue;
			st->bad_bytes++;
			if (!st->any_bad) {
				st->any_bad = true;
				st->first_bad = off + i;
				st->first_exp = exp[i];
				st->first_got = got[i];
				st->first_page_zero = all_zero(got + pg, plen);
			}
			bad = true;
		}
		if (bad)
			st->bad_pages++;
	}
}

static bool check_contents(int mfd, const struct params *p, uint64_t fsize)
{
	uint64_t want = p->size, n = fsize < want ? fsize : want;
	size_t page = sysconf(_SC_PAGESIZE);
	unsigned char *got = malloc(CHUNK), *exp = malloc(CHUNK);
	struct cmp_state st = { 0 };
	uint64_t off, npages = (want + page - 1) / page;
	char extra[96] = "";

	if (!got || !exp)
		lu_die("malloc");
	for (off = 0; off < n; ) {
		size_t len = n - off < CHUNK ? n - off : CHUNK;
		size_t done = 0;

		while (done < len) {
			ssize_t r = pread(mfd, got + done, len - done,
					  off + done);

			if (r < 0)
				lu_die("read memfd at offset %llu",
				       (unsigned long long)(off + done));
			if (r == 0)
				break;
			done += r;
		}
		if (done < len) {
			/* Shorter than fstat() said; count the rest as bad. */
			n = off + done;
			len = done;
		}
		fill_pattern(exp, off, len, p->seed);
		compare_chunk(&st, got, exp, off, len, page);
		off += len;
	}
	free(got);
	free(exp);

	if (n < want)
		snprintf(extra, sizeof(extra),
			 "; only %llu of %llu bytes present",
			 (unsigned long long)n, (unsigned long long)want);

	if (!st.any_bad && n == want)
		return lu_check("memfd_contents", true,
				"%llu bytes (%llu pages) match the pattern (seed %#llx)",
				(unsigned long long)want,
				(unsigned long long)npages,
				(unsigned long long)p->seed);
	if (!st.any_bad)
		return lu_check("memfd_contents", false,
				"no mismatch in the %llu bytes present%s",
				(unsigned long long)n, extra);
	return lu_check("memfd_contents", false,
			"first mismatch at offset %llu (0x%llx, page %llu +0x%llx): expected 0x%02x got 0x%02x%s; %llu bytes differ in %llu of %llu pages (seed %#llx)%s",
			(unsigned long long)st.first_bad,
			(unsigned long long)st.first_bad,
			(unsigned long long)(st.first_bad / page),
			(unsigned long long)(st.first_bad % page),
			st.first_exp, st.first_got,
			st.first_page_zero ? ", that page is all zero" : "",
			(unsigned long long)st.bad_bytes,
			(unsigned long long)st.bad_pages,
			(unsigned long long)npages,
			(unsigned long long)p->seed, extra);
}

static int do_verify(const struct params *p)
{
	struct liveupdate_ioctl_retrieve_session retrieve = {
		.size = sizeof(retrieve),
	};
	struct liveupdate_session_retrieve_fd rfd = {
		.size = sizeof(rfd),
	};
	struct liveupdate_session_finish finish = {
		.size = sizeof(finish),
	};
	int luo_fd, session_fd, mfd;
	bool ok = true;
	struct stat st;

	luo_fd = luo_open();

	set_name(retrieve.name, p->session);
	if (ioctl(luo_fd, LIVEUPDATE_IOCTL_RETRIEVE_SESSION, &retrieve)) {
		if (errno == ENOENT)
			lu_diex("no live update session '%s' in this boot",
				p->session);
		lu_die_hint(errno == EINVAL ?
			    "it was already retrieved in this boot" : NULL,
			    "retrieve session '%s'", p->session);
	}
	session_fd = retrieve.fd;

	rfd.token = p->token;
	if (ioctl(session_fd, LIVEUPDATE_SESSION_RETRIEVE_FD, &rfd)) {
		if (errno == ENOENT)
			lu_diex("no file with token %llu in session '%s'",
				(unsigned long long)p->token, p->session);
		lu_die("retrieve memfd with token %llu from session '%s'",
		       (unsigned long long)p->token, p->session);
	}
	mfd = rfd.fd;

	if (fstat(mfd, &st))
		lu_die("stat the retrieved memfd");

	if ((uint64_t)st.st_size == p->size)
		ok &= lu_check("memfd_size", true, "%llu bytes",
			       (unsigned long long)p->size);
	else
		ok &= lu_check("memfd_size", false, "expected %llu got %llu",
			       (unsigned long long)p->size,
			       (unsigned long long)st.st_size);

	ok &= check_contents(mfd, p, st.st_size);

	close(mfd);
	if (ioctl(session_fd, LIVEUPDATE_SESSION_FINISH, &finish))
		lu_die("finish session '%s'", p->session);
	close(session_fd);
	close(luo_fd);

	return ok ? LU_EXIT_PASS : LU_EXIT_FAIL;
}

int main(int argc, char **argv)
{
	enum { OPT_SESSION = 256, OPT_TOKEN, OPT_SIZE, OPT_SEED, OPT_HELP };
	static const struct option opts[] = {
		{ "session",	required_argument,	NULL, OPT_SESSION },
		{ "token",	required_argument,	NULL, OPT_TOKEN },
		{ "size",	required_argument,	NULL, OPT_SIZE },
		{ "seed",	required_argument,	NULL, OPT_SEED },
		{ "help",	no_argument,		NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 }
	};
	struct params p = {
		.session = DEFAULT_SESSION,
		.token = DEFAULT_TOKEN,
		.size = DEFAULT_SIZE,
		.seed = DEFAULT_SEED,
	};
	const char *mode;
	bool preserve;
	int opt;

	lu_init_stdio();

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? LU_EXIT_ERROR : 0;
	}
	mode = argv[1];
	if (!strcmp(mode, "preserve")) {
		preserve = true;
	} else if (!strcmp(mode, "verify")) {
		preserve = false;
	} else {
		lu_msg("unknown mode '%s'", mode);
		usage(stderr);
		return LU_EXIT_ERROR;
	}

	/* "+": stop at the first non-option, CMD's options are not ours. */
	argc--;
	argv++;
	while ((opt = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (opt) {
		case OPT_SESSION:
			p.session = optarg;
			break;
		case OPT_TOKEN:
			p.token = lu_parse_u64_or_die("--token", optarg);
			break;
		case OPT_SIZE:
			p.size = lu_parse_u64_or_die("--size", optarg);
			break;
		case OPT_SEED:
			p.seed = lu_parse_u64_or_die("--seed", optarg);
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
	if (!p.session[0] ||
	    strlen(p.session) >= LIVEUPDATE_SESSION_NAME_LENGTH)
		lu_diex("--session: name must be 1 to %d bytes",
			LIVEUPDATE_SESSION_NAME_LENGTH - 1);
	if (p.size > (uint64_t)INT64_MAX)
		lu_diex("--size: too large");

	if (!preserve) {
		if (optind < argc)
			lu_diex("verify takes no command ('%s')", argv[optind]);
		return do_verify(&p);
	}
	/* getopt stopped after "--" or at the first non-option. */
	if (optind < argc && strcmp(argv[optind - 1], "--"))
		lu_diex("unexpected argument '%s' (put the command after --)",
			argv[optind]);
	return do_preserve(&p, optind < argc ? &argv[optind] : NULL);
}
