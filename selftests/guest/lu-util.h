/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Small helpers shared by the static guest programs of the live update
 * tests: error exits, the result lines the harness parses and number
 * parsing. Everything is static inline so a program includes only this
 * header and stays a single source file.
 *
 * Output lines (stdout, one per line, flushed at once):
 *   LU-RESULT <key> <value>          a fact for the test to assert on
 *   LU-CHECK <name> PASS|FAIL <detail> a check done in the guest
 * Errors go to stderr as "<program>: <what>: <strerror>".
 *
 * Exit codes: 0 everything passed, 1 a check failed, 2 an error (a failing
 * syscall, bad usage) prevented the test from running.
 */
#ifndef LU_UTIL_H
#define LU_UTIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define LU_EXIT_PASS	0
#define LU_EXIT_FAIL	1
#define LU_EXIT_ERROR	2

#define LU_PRINTF(a, b)	__attribute__((format(printf, a, b)))
#define LU_NORETURN	__attribute__((noreturn))

/* Line-buffer stdout so result lines reach a pipe in order with stderr. */
static inline void lu_init_stdio(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
}

/*
 * "<program>: <message>[: <strerror(err)>][: <hint>]" on stderr, written
 * with one write() so kernel console messages do not end up inside it.
 */
static inline void lu_vmsg(int err, const char *hint, const char *fmt,
			   va_list ap)
{
	char buf[1024];
	size_t len;

	fflush(stdout);
	len = snprintf(buf, sizeof(buf), "%s: ", program_invocation_short_name);
	if (len < sizeof(buf))
		len += vsnprintf(buf + len, sizeof(buf) - len, fmt, ap);
	if (err && len < sizeof(buf))
		len += snprintf(buf + len, sizeof(buf) - len, ": %s",
				strerror(err));
	if (hint && len < sizeof(buf))
		len += snprintf(buf + len, sizeof(buf) - len, ": %s", hint);
	if (len > sizeof(buf) - 2)
		len = sizeof(buf) - 2;
	buf[len++] = '\n';
	if (write(STDERR_FILENO, buf, len) < 0)
		return;
}

/* "<program>: <message>" on stderr. */
static inline LU_PRINTF(1, 2) void lu_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	lu_vmsg(0, NULL, fmt, ap);
	va_end(ap);
}

/* "<program>: <message>: <strerror(errno)>" on stderr, exit 2. */
static inline LU_PRINTF(1, 2) LU_NORETURN
void lu_die(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	lu_vmsg(err, NULL, fmt, ap);
	va_end(ap);
	exit(LU_EXIT_ERROR);
}

/* Like lu_die() with an explicit error number (0: no strerror part). */
static inline LU_PRINTF(2, 3) LU_NORETURN
void lu_die_err(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	lu_vmsg(err, NULL, fmt, ap);
	va_end(ap);
	exit(LU_EXIT_ERROR);
}

/*
 * "<program>: <message>: <strerror(errno)>: <hint>" on stderr, exit 2; for
 * saying what an error number most likely means in this context.
 */
static inline LU_PRINTF(2, 3) LU_NORETURN
void lu_die_hint(const char *hint, const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	lu_vmsg(err, hint, fmt, ap);
	va_end(ap);
	exit(LU_EXIT_ERROR);
}

/* "<program>: <message>" on stderr, exit 2. */
static inline LU_PRINTF(1, 2) LU_NORETURN
void lu_diex(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	lu_vmsg(0, NULL, fmt, ap);
	va_end(ap);
	exit(LU_EXIT_ERROR);
}

/* "LU-RESULT <key> <value>" on stdout. */
static inline LU_PRINTF(2, 3) void lu_result(const char *key,
					     const char *fmt, ...)
{
	va_list ap;

	printf("LU-RESULT %s ", key);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/*
 * "LU-CHECK <name> PASS|FAIL <detail>" on stdout. Returns @pass so callers
 * can write "ok &= lu_check(...)".
 */
static inline LU_PRINTF(3, 4) bool lu_check(const char *name, bool pass,
					    const char *fmt, ...)
{
	va_list ap;

	printf("LU-CHECK %s %s ", name, pass ? "PASS" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	return pass;
}

/*
 * Parse an unsigned number: decimal, 0x hex or 0 octal, with an optional
 * binary suffix K, M, G or T (KiB, MiB, ...). Returns false on junk or
 * overflow.
 */
static inline bool lu_parse_u64(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return false;
	switch (*end) {
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	case 't':
	case 'T':
		shift = 40;
		break;
	case '\0':
		break;
	default:
		return false;
	}
	if (shift) {
		end++;
		if (*end == 'i' && end[1] == 'B')
			end += 2;
		else if (*end == 'B')
			end++;
	}
	if (*end)
		return false;
	if (shift && v > (UINT64_MAX >> shift))
		return false;
	*out = (uint64_t)v << shift;
	return true;
}

/* lu_parse_u64() or die with a usage error naming the option. */
static inline uint64_t lu_parse_u64_or_die(const char *opt, const char *s)
{
	uint64_t v;

	if (!lu_parse_u64(s, &v))
		lu_diex("%s: not a number: '%s'", opt, s);
	return v;
}

/*
 * Read a whole (small) text file such as /proc/cmdline into @buf, NUL
 * terminated, without a trailing newline. Returns the length or -1 with
 * errno set (E2BIG if it does not fit).
 */
static inline ssize_t lu_read_text(const char *path, char *buf, size_t size)
{
	size_t len = 0;
	FILE *f;

	f = fopen(path, "re");
	if (!f)
		return -1;
	while (len < size) {
		size_t n = fread(buf + len, 1, size - len, f);

		if (!n)
			break;
		len += n;
	}
	if (ferror(f)) {
		fclose(f);
		errno = EIO;
		return -1;
	}
	if (len == size) {
		fclose(f);
		errno = E2BIG;
		return -1;
	}
	fclose(f);
	buf[len] = '\0';
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		buf[--len] = '\0';
	return len;
}

/*
 * Run CMD (argv, NULL-terminated) as a child and wait for it. Return: its
 * wait status (exit status 127 if it could not be executed).
 */
static inline int lu_spawn_wait(char **cmd)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		lu_die("fork");
	if (pid == 0) {
		execvp(cmd[0], cmd);
		lu_msg("exec %s: %s", cmd[0], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			lu_die("waitpid %s", cmd[0]);
	}
	return status;
}

#endif /* LU_UTIL_H */
