// SPDX-License-Identifier: GPL-2.0
/*
 * lu-failnth: fault injection (fail-nth) over the preserve operations of
 * the device live update.
 *
 *   lu-failnth -- CMD...
 *
 * Stage 1 of a live update as lu-vfio preserve does it (lu-vmm.h): the
 * first edu device (lu.edus=, or else in bus order) bound to vfio-pci and
 * to an iommufd, attached to an HWPT whose IOAS maps the pages A and B of
 * a memfd; the device copies A to B (dma_before_sweep). Then each preserve
 * operation in turn, in the order a VMM does them:
 *
 *   mark      IOMMU_HWPT_LU_SET_PRESERVE of the HWPT (token 0x1234)
 *   memfd     LIVEUPDATE_SESSION_PRESERVE_FD of the memfd
 *   iommufd   LIVEUPDATE_SESSION_PRESERVE_FD of the iommufd
 *   device    LIVEUPDATE_SESSION_PRESERVE_FD of the device cdev
 *
 * is called with its n-th fault point failed, for n = 1, 2, ... (the
 * task's /proc/self/task/TID/fail-nth), until a call passes fewer than n
 * fault points and so runs with none failed: it must then succeed, and it
 * is the operation's real call. The fault points are the allocations
 * (failslab and fail_page_alloc are set so that any allocation may fail,
 * sleeping or not, of any order) and whatever else the kernel lets fail
 * (with CONFIG_IOMMUFD_TEST, iommufd's object lookups). Which one failed
 * is read from a kretprobe event on should_fail_ex(), with the name of its
 * fault attribute (failslab, fail_page_alloc, fail_iommufd); every fault
 * attribute is made quiet (verbose 0: no stack dump per failure).
 *
 * A call that failed must leave nothing behind:
 *
 *   - its error number is ENOMEM for a failed allocation, ENOENT for a
 *     failed iommufd object lookup (<op>_errno);
 *   - "lutrace -j dump --outgoing" prints the same bytes as before the
 *     call (<op>_dump_unchanged; no field of the dump is a time) and the
 *     same entry count per chain (<op>_entries_unchanged);
 *   - every page range the call preserved with KHO, it unpreserved, and it
 *     unpreserved none it did not preserve (<op>_kho_no_leak). Every KHO
 *     preservation (folios, pages, vmalloc, kho_alloc_preserve) adds a key
 *     (physical address and order) to KHO's radix tree with
 *     kho_radix_add_key(), and every unpreservation deletes one with
 *     kho_radix_del_key(): kprobe events on both give the keys each call
 *     added and deleted;
 *   - what the operation changes stays as it was (<op>_state): a failed
 *     mark leaves the HWPT unmarked (clearing its mark fails with ENOENT),
 *     a failed iommufd preserve leaves the iommufd unpreserved (marking
 *     the marked HWPT again fails with EEXIST, not EBUSY), a failed device
 *     preserve leaves the device unpreserved (attaching it to its own HWPT
 *     again works, not EBUSY). For the memfd nothing can be asked without
 *     preserving it: the next call of the sweep shows it.
 *
 * The probes' events go to a trace instance of their own (lu-failnth),
 * for this process only. A call that survived its failure (the kernel
 * retried the allocation, or did without it) and succeeded is counted and
 * undone, and the sweep goes on: a mark is cleared; a LUO preserve is
 * undone by closing the session (which unpreserves everything in it) and
 * preserving again what the earlier operations preserved, in a new session
 * of the same name.
 *
 * Per operation: LU-RESULT failnth_<op>_sites, the allocation fault points
 * of the call, failnth_<op>_points, all its fault points (the n at which
 * it ran with none failed, minus 1), failnth_<op>_failed and
 * failnth_<op>_tolerated, how many failures made the call fail and how
 * many it survived, failnth_<op>_errnos, the error numbers it failed with,
 * and failnth_<op>_kho_kept, the page ranges the successful call left
 * preserved. Check failnth_<op>_succeeded: the call succeeded once nothing
 * failed, and never failed without an injected failure.
 *
 * Then everything is preserved as lu-vfio preserve leaves it (session
 * "lu-iommufd", tokens 1, 2 and 3, HWPT token 0x1234), DMA from the device
 * to B is started and CMD (the kexec) runs with the session open; in the
 * next kernel, "lu-vfio retrieve" checks the device and its DMA. Nothing
 * is run if a check failed.
 *
 * Output: "LU-CHECK <name> PASS|FAIL <detail>", "LU-RESULT <key> <value>",
 * and a line per failed call. Exit status: 1 a check failed, 2 an error
 * (no fault injection or kprobe events in this kernel, a failed setup
 * step, bad usage); on success CMD replaces the program.
 */
#include "lu-util.h"

#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <unistd.h>

#include "edu.h"
#include "edu-vfio.h"
#include "lu-vmm.h"

#define DEBUGFS_DIR		"/sys/kernel/debug"
#define TRACEFS_DIR		"/sys/kernel/tracing"
#define KPROBE_EVENTS		TRACEFS_DIR "/kprobe_events"
#define TRACE_INSTANCE		TRACEFS_DIR "/instances/lu-failnth"
#define KPROBE_GROUP		"lu_failnth"
#define TRACE_EVENTS		TRACE_INSTANCE "/events/" KPROBE_GROUP

/* A call with more fault points than this is not swept to the end */
#define MAX_NTH			1000
/* Distinct page ranges one call may preserve or unpreserve */
#define MAX_KHO_KEYS		4096
#define MAX_ERRNOS		8
#define FAULT_NAME_LEN		32
#define DETAIL_LEN		256

enum op { OP_MARK, OP_MEMFD, OP_IOMMUFD, OP_DEVICE, NR_OPS };

static const char *const op_names[NR_OPS] = {
	[OP_MARK] = "mark",
	[OP_MEMFD] = "memfd",
	[OP_IOMMUFD] = "iommufd",
	[OP_DEVICE] = "device",
};

/* What is swept: the device on its HWPT, and the session */
struct vmm {
	struct session s;
	uint32_t hwpt;
	int memfd;
	uint8_t *mem;
	int luo_fd;
	int session_fd;
	int fail_nth_fd;
};

static int nr_failed;

/* ----------------------------------------------------------------------- */
/* Fault injection                                                         */

/*
 * Every allocation may fail when fail-nth says so: also those that may
 * sleep, of highmem, and single pages (by default failslab and
 * fail_page_alloc skip those). Nothing fails otherwise (probability 0, and
 * only tasks that ask, task-filter).
 */
static const char *const fault_settings[][2] = {
	{ "failslab/ignore-gfp-wait", "N" },
	{ "failslab/probability", "0" },
	{ "failslab/task-filter", "Y" },
	{ "fail_page_alloc/ignore-gfp-wait", "N" },
	{ "fail_page_alloc/ignore-gfp-highmem", "N" },
	{ "fail_page_alloc/min-order", "0" },
	{ "fail_page_alloc/probability", "0" },
	{ "fail_page_alloc/task-filter", "Y" },
};

/*
 * What a failure of each kind of fault point must return: an allocation
 * ENOMEM; iommufd's test hook in its object lookup (CONFIG_IOMMUFD_TEST)
 * ENOENT, as for an object that is not there.
 */
static const struct {
	const char *attr;
	const char *what;
	bool alloc;
	int err;
} fault_kinds[] = {
	{ "failslab", "slab allocation", true, ENOMEM },
	{ "fail_page_alloc", "page allocation", true, ENOMEM },
	{ "fail_iommufd", "iommufd object lookup", false, ENOENT },
};

/* The kind of fault point of fault attribute @attr, or -1 */
static int fault_kind(const char *attr)
{
	size_t i;

	for (i = 0; i < sizeof(fault_kinds) / sizeof(fault_kinds[0]); i++)
		if (!strcmp(fault_kinds[i].attr, attr))
			return i;
	return -1;
}

/* Every fault attribute in debugfs (fail*) quiet: no stack per failure */
static void fault_quiet(void)
{
	char path[PATH_MAX];
	struct dirent *d;
	DIR *dir;

	dir = opendir(DEBUGFS_DIR);
	if (!dir)
		lu_die("opendir %s", DEBUGFS_DIR);
	while ((d = readdir(dir))) {
		if (strncmp(d->d_name, "fail", 4))
			continue;
		snprintf(path, sizeof(path), DEBUGFS_DIR "/%s/verbose",
			 d->d_name);
		if (sysfs_write(path, "0"))
			lu_die("write 0 to %s", path);
	}
	closedir(dir);
}

/* Set fault injection up; return this task's fail-nth file, open */
static int fault_setup(void)
{
	char path[PATH_MAX];
	size_t i;
	int fd;

	for (i = 0; i < sizeof(fault_settings) / sizeof(fault_settings[0]);
	     i++) {
		snprintf(path, sizeof(path), DEBUGFS_DIR "/%s",
			 fault_settings[i][0]);
		if (!sysfs_write(path, fault_settings[i][1]))
			continue;
		if (errno == ENOENT)
			lu_die_hint("this kernel needs CONFIG_FAILSLAB, "
				    "CONFIG_FAIL_PAGE_ALLOC and "
				    "CONFIG_FAULT_INJECTION_DEBUG_FS, and debugfs "
				    "on " DEBUGFS_DIR, "open %s", path);
		lu_die("write %s to %s", fault_settings[i][1], path);
	}
	fault_quiet();
	snprintf(path, sizeof(path), "/proc/self/task/%d/fail-nth", gettid());
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		lu_die_hint("this kernel needs CONFIG_FAULT_INJECTION_DEBUG_FS",
			    "open %s", path);
	return fd;
}

/* Fail the @n-th fault point of this task from now on */
static void fail_nth_arm(int fd, unsigned int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", n);

	if (pwrite(fd, buf, len, 0) != len)
		lu_die("write %u to fail-nth", n);
}

/*
 * Stop failing; return whether the armed failure happened (fail-nth reads
 * 0 once it did, else the fault points still to go).
 */
static bool fail_nth_disarm(int fd)
{
	char buf[16];
	ssize_t len;

	len = pread(fd, buf, sizeof(buf) - 1, 0);
	if (len <= 0)
		lu_die("read fail-nth");
	buf[len] = '\0';
	if (pwrite(fd, "0", 1, 0) != 1)
		lu_die("write 0 to fail-nth");
	return strtoul(buf, NULL, 10) == 0;
}

/* ----------------------------------------------------------------------- */
/* What a call did, from kprobe events                                     */

/*
 * KHO's radix tree, a key added (the return tells whether it was) or
 * deleted; and the fault injected, with the name of its fault attribute
 * (should_fail_ex() returns true only for it: every probability is 0).
 */
static const char *const probes[] = {
	"p:" KPROBE_GROUP "/kho_add kho_radix_add_key key=$arg2:x64",
	"r:" KPROBE_GROUP "/kho_add_ret kho_radix_add_key ret=$retval:s32",
	"p:" KPROBE_GROUP "/kho_del kho_radix_del_key key=$arg2:x64",
	"r:" KPROBE_GROUP "/fault should_fail_ex attr=attr->dname:string "
	"ret=$retval:u8",
};

/* The probes, enabled in a trace instance that records this process only */
static void probes_setup(void)
{
	char pid[16];
	size_t i;

	for (i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
		if (sysfs_write(KPROBE_EVENTS, probes[i]) && errno != EEXIST)
			lu_die_hint("this kernel needs CONFIG_KPROBE_EVENTS and "
				    "CONFIG_PROBE_EVENTS_BTF_ARGS, and tracefs "
				    "on " TRACEFS_DIR, "add '%s' to %s",
				    probes[i], KPROBE_EVENTS);
	if (mkdir(TRACE_INSTANCE, 0755) && errno != EEXIST)
		lu_die("mkdir %s", TRACE_INSTANCE);
	snprintf(pid, sizeof(pid), "%d", getpid());
	if (sysfs_write(TRACE_INSTANCE "/set_event_pid", pid))
		lu_die("write %s to %s/set_event_pid", pid, TRACE_INSTANCE);
	if (sysfs_write(TRACE_EVENTS "/fault/filter", "ret != 0"))
		lu_die("write the filter of %s/fault", TRACE_EVENTS);
	if (sysfs_write(TRACE_EVENTS "/enable", "1"))
		lu_die("enable the events of %s", TRACE_EVENTS);
}

static void probes_clear(void)
{
	int fd = open(TRACE_INSTANCE "/trace", O_WRONLY | O_TRUNC | O_CLOEXEC);

	if (fd < 0)
		lu_die("clear %s/trace", TRACE_INSTANCE);
	close(fd);
}

/*
 * What one call did: per KHO key, how many times it was added
 * (successfully) minus deleted; the fault attribute of the failure
 * injected, "" if none.
 */
struct call_log {
	uint64_t key[MAX_KHO_KEYS];
	int delta[MAX_KHO_KEYS];
	unsigned int nr;
	unsigned int preserved, unpreserved;
	char fault[FAULT_NAME_LEN];
};

static void log_kho(struct call_log *l, uint64_t key, int delta)
{
	unsigned int i;

	for (i = 0; i < l->nr && l->key[i] != key; i++)
		;
	if (i == l->nr) {
		if (l->nr == MAX_KHO_KEYS)
			lu_diex("one call preserved or unpreserved more than %d "
				"page ranges", MAX_KHO_KEYS);
		l->key[l->nr] = key;
		l->delta[l->nr++] = 0;
	}
	l->delta[i] += delta;
	if (delta > 0)
		l->preserved++;
	else
		l->unpreserved++;
}

/* The value of "@name=" in trace line @line */
static const char *trace_field(const char *line, const char *name)
{
	const char *p = strstr(line, name);

	if (!p)
		lu_diex("no %s in trace line: %s", name, line);
	return p + strlen(name);
}

/*
 * Read the instance's trace since probes_clear() into @l. An add counts
 * once it returned 0; the return event follows its entry event.
 */
static void call_log_read(struct call_log *l)
{
	unsigned long in_buffer, written;
	bool have_header = false, adding = false;
	char line[512];
	uint64_t key = 0;
	FILE *f;

	memset(l, 0, sizeof(*l));
	f = fopen(TRACE_INSTANCE "/trace", "re");
	if (!f)
		lu_die("open %s/trace", TRACE_INSTANCE);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "# entries-in-buffer/entries-written: %lu/%lu",
			   &in_buffer, &written) == 2) {
			if (in_buffer != written)
				lu_diex("the trace of %s lost %lu events",
					TRACE_INSTANCE, written - in_buffer);
			have_header = true;
		} else if (strstr(line, " kho_add: ")) {
			key = strtoull(trace_field(line, "key="), NULL, 0);
			adding = true;
		} else if (strstr(line, " kho_add_ret: ")) {
			if (!adding)
				lu_diex("a kho_add_ret without its kho_add: %s",
					line);
			if (!strtol(trace_field(line, "ret="), NULL, 0))
				log_kho(l, key, 1);
			adding = false;
		} else if (strstr(line, " kho_del: ")) {
			log_kho(l, strtoull(trace_field(line, "key="), NULL, 0),
				-1);
		} else if (strstr(line, " fault: ")) {
			if (l->fault[0])
				lu_diex("two faults injected in one call: %s and "
					"%s", l->fault, line);
			sscanf(trace_field(line, "attr=\""), "%31[^\"]",
			       l->fault);
		}
	}
	if (ferror(f))
		lu_die("read %s/trace", TRACE_INSTANCE);
	fclose(f);
	if (!have_header)
		lu_diex("%s/trace has no entries-in-buffer line",
			TRACE_INSTANCE);
	if (adding)
		lu_diex("a kho_add without its return in the trace");
}

/* The KHO keys @l added and did not delete, and deleted without adding */
static void call_log_balance(const struct call_log *l, unsigned int *kept,
			     unsigned int *dropped)
{
	unsigned int i;

	*kept = *dropped = 0;
	for (i = 0; i < l->nr; i++) {
		if (l->delta[i] > 0)
			*kept += l->delta[i];
		else
			*dropped -= l->delta[i];
	}
}

/* ----------------------------------------------------------------------- */
/* lutrace's view of the outgoing state                                    */

/* "lutrace -j dump --outgoing", its output in a malloc'ed string */
static char *state_dump(void)
{
	size_t len = 0, size = 1 << 16;
	char *buf = malloc(size);
	FILE *f;
	int status;

	if (!buf)
		lu_die("malloc");
	f = popen("lutrace -j dump --outgoing", "re");
	if (!f)
		lu_die("run lutrace");
	for (;;) {
		size_t n = fread(buf + len, 1, size - len - 1, f);

		len += n;
		if (n == 0)
			break;
		if (len == size - 1) {
			size *= 2;
			buf = realloc(buf, size);
			if (!buf)
				lu_die("realloc");
		}
	}
	buf[len] = '\0';
	status = pclose(f);
	if (status)
		lu_diex("lutrace -j dump --outgoing failed (status 0x%x)",
			status);
	return buf;
}

/*
 * The entry count per chain of dump @dump in @buf: its "nr_entries"
 * object, or "none" when there is no state.
 */
static const char *state_entries(const char *dump, char *buf, size_t size)
{
	const char *p = strstr(dump, "\"nr_entries\":");
	size_t len;

	if (!p) {
		snprintf(buf, size, "none");
		return buf;
	}
	p += strlen("\"nr_entries\":");
	len = strcspn(p, "}") + 1;
	snprintf(buf, size, "%.*s", (int)len, p);
	return buf;
}

/* ----------------------------------------------------------------------- */
/* The operations                                                          */

static int op_call(struct vmm *v, enum op op)
{
	switch (op) {
	case OP_MARK:
		return hwpt_mark(&v->s, v->hwpt, 0, 0, TOKEN_1);
	case OP_MEMFD:
		return luo_preserve(v->session_fd, v->memfd, LU_TOKEN_MEMFD);
	case OP_IOMMUFD:
		return luo_preserve(v->session_fd, v->s.fd, LU_TOKEN_IOMMUFD);
	case OP_DEVICE:
		return luo_preserve(v->session_fd, v->s.devfd, LU_TOKEN_DEVICE);
	default:
		lu_diex("no operation %d", op);
	}
}

/*
 * After a failed call of @op (not the memfd's: see the top): whether what
 * @op changes is as it was, with what was seen in @buf.
 */
static bool op_state_kept(struct vmm *v, enum op op, char *buf, size_t size)
{
	char e[ERR_STR_LEN];
	int err;

	switch (op) {
	case OP_MARK:
		err = hwpt_clear(&v->s, v->hwpt, 0);
		snprintf(buf, size, "clear the HWPT's mark: %s, expected "
			 "errno ENOENT (not marked)", err_str(e, err));
		return err == ENOENT;
	case OP_IOMMUFD:
		err = hwpt_mark(&v->s, v->hwpt, 0, 0, TOKEN_1);
		snprintf(buf, size, "mark the marked HWPT again: %s, expected "
			 "errno EEXIST (EBUSY: the iommufd stayed preserved)",
			 err_str(e, err));
		return err == EEXIST;
	case OP_DEVICE:
		err = vfio_attach_pt_err(&v->s, v->hwpt);
		snprintf(buf, size, "attach the device to its HWPT again: %s, "
			 "expected success (EBUSY: it stayed preserved)",
			 err_str(e, err));
		return !err;
	default:
		lu_diex("no state check for the %s", op_names[op]);
	}
}

/*
 * Undo a successful call of @op: clear the mark, or close the session,
 * which unpreserves everything in it, and preserve again in a new one what
 * came before @op.
 */
static void op_undo(struct vmm *v, enum op op)
{
	enum op i;

	if (op == OP_MARK) {
		must(hwpt_clear(&v->s, v->hwpt, 0), "clear the HWPT's mark");
		return;
	}
	close(v->session_fd);
	v->session_fd = luo_session_create(v->luo_fd, LU_SESSION);
	for (i = OP_MEMFD; i < op; i++)
		must(op_call(v, i), "preserve the %s again", op_names[i]);
}

/* ----------------------------------------------------------------------- */
/* The sweep                                                               */

/* A check over the calls of a sweep: how many broke it, and the first */
struct tally {
	unsigned int bad;
	char first[DETAIL_LEN];
};

static LU_PRINTF(3, 4) void tally_add(struct tally *t, bool ok,
				      const char *fmt, ...)
{
	va_list ap;

	if (ok || t->bad++)
		return;
	va_start(ap, fmt);
	vsnprintf(t->first, sizeof(t->first), fmt, ap);
	va_end(ap);
}

/* LU-CHECK failnth_<op>_<name> over the @failed failed calls */
static void tally_check(enum op op, const char *name, const struct tally *t,
			unsigned int failed, const char *what)
{
	char check[64];

	snprintf(check, sizeof(check), "failnth_%s_%s", op_names[op], name);
	if (t->bad)
		nr_failed += !lu_check(check, false, "%u of %u failed calls: "
				       "first: %s", t->bad, failed, t->first);
	else
		lu_check(check, true, "%u failed calls: %s", failed, what);
}

struct sweep {
	unsigned int sites, failed, tolerated;
	int errnos[MAX_ERRNOS];
	unsigned int nr_errnos;
	struct tally errno_ok, dump_same, entries_same, kho_same, state_same;
};

static void sweep_errno(struct sweep *w, int err)
{
	unsigned int i;

	for (i = 0; i < w->nr_errnos; i++)
		if (w->errnos[i] == err)
			return;
	if (w->nr_errnos < MAX_ERRNOS)
		w->errnos[w->nr_errnos++] = err;
}

/* The checks after call @n of @op failed with @err, as @l saw it */
static void sweep_failed_call(struct vmm *v, enum op op, struct sweep *w,
			      unsigned int n, int err,
			      const struct call_log *l, const char *before)
{
	char e[ERR_STR_LEN], want[ERR_STR_LEN], state[DETAIL_LEN];
	char ent_before[128], ent_after[128];
	int kind = fault_kind(l->fault);
	unsigned int kept, dropped;
	size_t diff, start;
	char *after;
	bool same;

	w->failed++;
	sweep_errno(w, err);
	if (kind < 0)
		tally_add(&w->errno_ok, false, "fault point %u failed (%s, a "
			  "kind of fault point with no known error number): "
			  "%s", n, l->fault, err_str(e, err));
	else
		tally_add(&w->errno_ok, err == fault_kinds[kind].err,
			  "fault point %u failed (%s): %s, expected %s", n,
			  fault_kinds[kind].what, err_str(e, err),
			  err_str(want, fault_kinds[kind].err));

	call_log_balance(l, &kept, &dropped);
	tally_add(&w->kho_same, !kept && !dropped, "fault point %u failed: "
		  "%u page ranges preserved and %u unpreserved by the call, "
		  "%u of them left preserved, %u unpreserved that it did not "
		  "preserve", n, l->preserved, l->unpreserved, kept, dropped);

	after = state_dump();
	for (diff = 0; before[diff] && before[diff] == after[diff]; diff++)
		;
	same = !before[diff] && !after[diff];
	tally_add(&w->dump_same, same, "fault point %u failed: the dump "
		  "differs from byte %zu on (%zu bytes before, %zu after)", n,
		  diff, strlen(before), strlen(after));
	if (!same) {
		start = diff > 40 ? diff - 40 : 0;
		printf("lu-failnth: %s: dump before '%.80s', after '%.80s'\n",
		       op_names[op], before + start, after + start);
	}
	state_entries(before, ent_before, sizeof(ent_before));
	state_entries(after, ent_after, sizeof(ent_after));
	tally_add(&w->entries_same, !strcmp(ent_before, ent_after),
		  "fault point %u failed: entries %s before, %s after", n,
		  ent_before, ent_after);

	if (op != OP_MEMFD)
		tally_add(&w->state_same,
			  op_state_kept(v, op, state, sizeof(state)),
			  "fault point %u failed: %s", n, state);

	printf("lu-failnth: %s: fault point %u (%s) failed: %s; dump %s; KHO: "
	       "%u preserved, %u unpreserved, %u kept, %u unpreserved that it "
	       "did not preserve\n", op_names[op], n, l->fault,
	       err_str(e, err), same ? "unchanged" : "CHANGED", l->preserved,
	       l->unpreserved, kept, dropped);
	free(after);
}

/* LU-RESULT failnth_<op>_<key> */
static LU_PRINTF(3, 4) void op_result(enum op op, const char *key,
				      const char *fmt, ...)
{
	char name[64], value[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	snprintf(name, sizeof(name), "failnth_%s_%s", op_names[op], key);
	lu_result(name, "%s", value);
}

/*
 * Call @op with its n-th fault point failed, n = 1, 2, ..., until it
 * passes fewer than n; report the counts and the checks.
 */
static void sweep(struct vmm *v, enum op op)
{
	struct call_log *l = malloc(sizeof(*l));
	char *before = state_dump();
	char name[64], list[128] = "", e[ERR_STR_LEN];
	unsigned int n, i, kept, dropped;
	struct sweep w = { 0 };
	bool injected;
	int err, kind;

	if (!l)
		lu_die("malloc");
	for (n = 1; ; n++) {
		if (n > MAX_NTH)
			lu_diex("%s: still failing after %u failed fault points",
				op_names[op], MAX_NTH);
		probes_clear();
		fail_nth_arm(v->fail_nth_fd, n);
		err = op_call(v, op);
		injected = fail_nth_disarm(v->fail_nth_fd);
		call_log_read(l);
		if (injected != !!l->fault[0])
			lu_diex("%s: fail-nth says the fault at %u was%s "
				"injected, the trace shows %s", op_names[op], n,
				injected ? "" : " not",
				l->fault[0] ? l->fault : "none");
		if (!injected)
			break;
		kind = fault_kind(l->fault);
		w.sites += kind >= 0 && fault_kinds[kind].alloc;
		if (err) {
			sweep_failed_call(v, op, &w, n, err, l, before);
			continue;
		}
		/* The failure was survived: undo the call, go on */
		w.tolerated++;
		printf("lu-failnth: %s: fault point %u (%s) failed: the call "
		       "succeeded; undone\n", op_names[op], n, l->fault);
		op_undo(v, op);
		free(before);
		before = state_dump();
	}

	call_log_balance(l, &kept, &dropped);
	printf("lu-failnth: %s: %s with none of its %u fault points failed; "
	       "KHO: %u preserved, %u unpreserved, %u kept, %u unpreserved "
	       "that it did not preserve\n", op_names[op],
	       err ? "failed" : "succeeded", n - 1, l->preserved,
	       l->unpreserved, kept, dropped);
	snprintf(name, sizeof(name), "failnth_%s_succeeded", op_names[op]);
	nr_failed += !lu_check(name, !err, "with none of its %u fault points "
			       "failed: %s", n - 1, err_str(e, err));

	tally_check(op, "errno", &w.errno_ok, w.failed,
		    "each ENOMEM for an allocation, ENOENT for an iommufd "
		    "object lookup");
	tally_check(op, "dump_unchanged", &w.dump_same, w.failed,
		    "lutrace's dump of the outgoing state unchanged after each");
	tally_check(op, "entries_unchanged", &w.entries_same, w.failed,
		    "the same entries per chain after each");
	tally_check(op, "kho_no_leak", &w.kho_same, w.failed,
		    "each unpreserved every page range it preserved, and no "
		    "other");
	if (op != OP_MEMFD)
		tally_check(op, "state", &w.state_same, w.failed,
			    op == OP_MARK ? "the HWPT not marked after each" :
			    op == OP_IOMMUFD ? "the iommufd not preserved "
					       "after each" :
			    "the device not preserved after each");

	for (i = 0; i < w.nr_errnos; i++) {
		const char *en = strerrorname_np(w.errnos[i]);

		snprintf(list + strlen(list), sizeof(list) - strlen(list),
			 "%s%s", i ? "," : "", en ? en : "unknown");
	}
	op_result(op, "sites", "%u", w.sites);
	op_result(op, "points", "%u", n - 1);
	op_result(op, "failed", "%u", w.failed);
	op_result(op, "tolerated", "%u", w.tolerated);
	op_result(op, "errnos", "%s", w.nr_errnos ? list : "none");
	op_result(op, "kho_kept", "%u", kept);
	free(before);
	free(l);
}

/* The device copies A to B: it works before anything is swept */
static void check_dma_before(uint8_t *mem)
{
	uint8_t *b = mem + PAGE;
	int ret_to, ret_from;

	pattern_fill(mem, XFER_LEN, SEED_P);
	pattern_fill(b, XFER_LEN, SEED_R);
	ret_to = edu_dma_xfer(EDU_DMA_TO_DEVICE, IOVA_A, XFER_LEN);
	ret_from = edu_dma_xfer(EDU_DMA_FROM_DEVICE, IOVA_B, XFER_LEN);
	nr_failed += !lu_check("dma_before_sweep",
			       !ret_to && !ret_from &&
			       pattern_count(b, XFER_LEN, SEED_P) == XFER_LEN,
			       "A to the device, the device to B: B holds %s",
			       describe(b, XFER_LEN));
}

static int lu_failnth_cmd(char **cmd)
{
	char bdf[NAME_MAX + 1], cdev[NAME_MAX + 1];
	struct vmm v;
	size_t bar_size;
	enum op op;

	v.fail_nth_fd = fault_setup();
	probes_setup();

	pci_find_edu(bdf, sizeof(bdf));
	vfio_bind_pci(bdf);
	vfio_find_cdev(bdf, cdev, sizeof(cdev));
	lu_result("edu_bdf", "%s", bdf);
	session_open(cdev, &v.s);
	v.mem = attach_memfd_hwpt(&v.s, &v.memfd, &v.hwpt, &bar_size);
	check_dma_before(v.mem);

	v.luo_fd = luo_open();
	v.session_fd = -1;
	for (op = OP_MARK; op < NR_OPS; op++) {
		if (op == OP_MEMFD)
			v.session_fd = luo_session_create(v.luo_fd, LU_SESSION);
		sweep(&v, op);
	}
	close(v.luo_fd);
	if (nr_failed) {
		printf("lu-failnth: %d check(s) failed, not starting the kexec\n",
		       nr_failed);
		return LU_EXIT_FAIL;
	}
	start_inflight_dma(v.mem, 0);
	keep_open(v.session_fd);
	exec_cmd(cmd);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: lu-failnth -- CMD...\n"
		"Preserve the first edu device for a live update with each\n"
		"fault point (allocation) of each preserve operation failed in\n"
		"turn, check what each failure leaves, then run CMD (the kexec)\n"
		"with the session open. Needs fault injection (CONFIG_FAILSLAB,\n"
		"CONFIG_FAIL_PAGE_ALLOC, CONFIG_FAULT_INJECTION_DEBUG_FS),\n"
		"kprobe events and lutrace.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int c;

	lu_init_stdio();
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return LU_EXIT_PASS;
		}
		usage(stderr);
		return LU_EXIT_ERROR;
	}
	if (optind >= argc) {
		lu_msg("needs the command to run with the session open: -- CMD...");
		usage(stderr);
		return LU_EXIT_ERROR;
	}
	return lu_failnth_cmd(argv + optind);
}
