/* SPDX-License-Identifier: MIT */
/*
 * appkg-mount: mount a package read-write with FUSE; edits are committed back into the package
 * (atomically, after validation) when it is unmounted or on `appkg-mount --commit`.
 *
 *   appkg-mount [OPTION]... PKG MOUNTPOINT     mount (in the background unless -f)
 *   appkg-mount -u MOUNTPOINT                  commit, unmount, wait for the mount to end
 *   appkg-mount --commit MOUNTPOINT            commit and stay mounted
 *
 * The commands talk to the mount through attributes of its root directory (mount.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "fe.h"
#include "mount.h"
#include "progress.h"

struct mount_state fs = {.lock = PTHREAD_MUTEX_INITIALIZER};

struct options {
	const char *package, *mountpoint, *password_file, *output, *log, *sign, *key_password_file;
	int foreground, unmount, commit, single_thread, debug;
	enum fe_progress_mode progress; /* of a commit asked with -u or --commit */
	struct fuse_args fuse;
};

__attribute__((noreturn)) static void usage(struct options *o)
{
	printf("Usage: %s [OPTION]... PKG MOUNTPOINT\n"
	       "       %s -u MOUNTPOINT | --commit MOUNTPOINT\n"
	       "Mount a package read-write; edits are committed into it when it is unmounted.\n\n"
	       "  -u, --unmount            commit the edits, unmount and wait for the mount to end\n"
	       "      --commit             commit the edits and stay mounted\n"
	       "  -f, --foreground         stay in the foreground (commit messages on stderr)\n"
	       "  -o OPT[,OPT]...          mount options: ro (read-only), or FUSE options below\n"
	       "      --output FILE        commit into FILE and leave PKG as it is\n"
	       "      --password-file FILE read the secrets password from FILE ('-': stdin)\n"
	       "      --sign SECKEY        sign each commit with a minisign secret key\n"
	       "      --key-password-file FILE  password of SECKEY (else APPKG_KEY_PASSWORD,\n"
	       "                           else a prompt at mount time)\n"
	       "      --log FILE           append commit results to FILE (default:\n"
	       "                           $XDG_STATE_HOME/appkg/mount.log; also to syslog)\n"
	       "  -l, --level N            zstd level of committed packages (default 3)\n"
	       "  -T, --threads N          compression threads for commits (default 2)\n"
	       "  -s                       single-threaded FUSE loop\n"
	       "  -d                       FUSE debug output (implies -f)\n"
	       "  -q, --quiet              with -u or --commit: no progress display\n"
	       "      --progress           with -u or --commit: a progress display even when\n"
	       "                           stderr is not a terminal or the commit is short\n"
	       "  -h, --help               show this help\n"
	       "  -V, --version            show the version\n\n"
	       "With a password (--password-file, APPKG_PASSWORD or a prompt) the mount shows\n"
	       "secrets.json, kept in locked memory only; without, secrets.enc read-only.\n"
	       "Committed: manifest.json, manifest.json.minisig, secrets.json and\n"
	       "resources/<type>/<name>.json; names starting with '.' or not ending in .json\n"
	       "(editor swap, backup and temporary files) and anything below a top-level\n"
	       "directory other than resources/ are never committed (the rule pack uses).\n"
	       "An unlinked resource loses its manifest entry; a renamed one keeps it.\n"
	       "A refused commit leaves the package as it was: with -u or --commit the edits stay\n"
	       "in the mount; at a plain unmount they are written to PKG.edits/ and the log says\n"
	       "why. Without --sign, a commit drops a signature that it would make stale.\n"
	       "MOUNTPOINT must be an empty directory that is not a mount point.\n"
	       "Exit status: 0 ok, 1 rejected package or refused commit, 2 usage, 3 bad password\n"
	       "or signing key, 4 I/O or FUSE error, or a mount point that is not usable.\n\n"
	       "FUSE options:\n",
	       fe_prog, fe_prog);
	fflush(stdout);
	fuse_lowlevel_help();
	exit(0);
}

/* -o: "ro" is ours as well as the kernel's; the rest goes to FUSE. */
static void mount_options(struct options *o, const char *list)
{
	char *copy = strdup(list), *save = NULL;

	if (!copy)
		fe_usage_error("out of memory");
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (!strcmp(t, "ro"))
			fs.read_only = 1;
	free(copy);
	if (fuse_opt_add_arg(&o->fuse, "-o") || fuse_opt_add_arg(&o->fuse, list))
		fe_usage_error("out of memory");
}

static void parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longs[] = {
		{"unmount", no_argument, NULL, 'u'}, {"commit", no_argument, NULL, 'c'},
		{"foreground", no_argument, NULL, 'f'}, {"output", required_argument, NULL, 'O'},
		{"password-file", required_argument, NULL, 'p'}, {"log", required_argument, NULL, 'L'},
		{"level", required_argument, NULL, 'l'}, {"threads", required_argument, NULL, 'T'},
		{"sign", required_argument, NULL, 'S'},
		{"key-password-file", required_argument, NULL, 'K'},
		{"quiet", no_argument, NULL, 'q'}, {"progress", no_argument, NULL, 'G'},
		{"help", no_argument, NULL, 'h'}, {"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0}};
	int c, help = 0;

	fs.level = 3;
	fs.threads = 2;
	if (fuse_opt_add_arg(&o->fuse, argv[0]))
		fe_usage_error("out of memory");
	while ((c = fe_getopt(argc, argv, "ufo:l:T:sdqhV", longs)) != -1) {
		switch (c) {
		case 'u': o->unmount = 1; break;
		case 'c': o->commit = 1; break;
		case 'f': o->foreground = 1; break;
		case 'o': mount_options(o, optarg); break;
		case 'O': o->output = optarg; break;
		case 'p': o->password_file = optarg; break;
		case 'L': o->log = optarg; break;
		case 'S': o->sign = optarg; break;
		case 'K': o->key_password_file = optarg; break;
		case 'l':
			if ((fs.level = (int)fe_parse_int(optarg, 1, 19)) < 0)
				fe_usage_error("--level: expected 1..19, not '%s'", optarg);
			break;
		case 'T':
			if ((fs.threads = (int)fe_parse_int(optarg, 1, 64)) < 0)
				fe_usage_error("--threads: expected 1..64, not '%s'", optarg);
			break;
		case 's': o->single_thread = fs.single_thread = 1; break;
		case 'd': o->debug = o->foreground = 1; break;
		case 'q': o->progress = FE_PROGRESS_NEVER; break;
		case 'G': o->progress = FE_PROGRESS_ALWAYS; break;
		case 'h': help = 1; break;
		case 'V': fe_version();
		default: fe_usage_error("bad option");
		}
	}
	if (help)
		usage(o);
	if (o->unmount || o->commit) {
		if (optind + 1 != argc || o->unmount + o->commit > 1)
			fe_usage_error("-u and --commit take one MOUNTPOINT");
		o->mountpoint = argv[optind];
		return;
	}
	if (optind + 2 != argc)
		fe_usage_error("expected PKG MOUNTPOINT");
	o->package = argv[optind];
	o->mountpoint = argv[optind + 1];
}

/* ---- -u and --commit: ask a running mount ---- */

static int fail_errno(const char *subject, const char *what)
{
	fprintf(stderr, "%s: '%s': %s: %s\n", fe_prog, subject, what, strerror(errno));
	return APPKG_EXIT_ENVIRONMENT;
}

/* While the commit runs (the setxattr that asked for it has not returned), its progress
 * attribute is read every tenth of a second into the display. The end of the commit wakes the
 * watcher at once: a commit never waits for the watcher's tick. */
struct watch {
	const char *mnt;
	struct fe_progress *display;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int done;
};

static void show_progress(struct watch *w)
{
	unsigned long long v[4];
	char text[96];
	ssize_t n = getxattr(w->mnt, XATTR_PROGRESS, text, sizeof(text) - 1);

	if (n <= 0)
		return;
	text[n] = '\0';
	if (sscanf(text, "%llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3]) == 4 && v[3] > 0)
		fe_progress_update(w->display, v[0], v[1], (size_t)v[2], (size_t)v[3]);
}

static void *watch_commit(void *arg)
{
	struct watch *w = arg;
	struct timespec tick;

	pthread_mutex_lock(&w->lock);
	while (!w->done) {
		clock_gettime(CLOCK_REALTIME, &tick);
		tick.tv_nsec += 100000000;
		if (tick.tv_nsec >= 1000000000) {
			tick.tv_sec++;
			tick.tv_nsec -= 1000000000;
		}
		if (pthread_cond_timedwait(&w->wake, &w->lock, &tick) == ETIMEDOUT && !w->done) {
			pthread_mutex_unlock(&w->lock);
			show_progress(w);
			pthread_mutex_lock(&w->lock);
		}
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* setxattr(XATTR_COMMIT) with the progress display; 0 or -1 (errno). */
static int run_commit(const char *mnt, enum fe_progress_mode mode)
{
	struct watch w = {.mnt = mnt,
			  .display = fe_progress_new("committing", mode),
			  .lock = PTHREAD_MUTEX_INITIALIZER,
			  .wake = PTHREAD_COND_INITIALIZER};
	pthread_t t;
	int watching = w.display && pthread_create(&t, NULL, watch_commit, &w) == 0;
	int rc = setxattr(mnt, XATTR_COMMIT, "1", 1, 0), err = errno;

	pthread_mutex_lock(&w.lock);
	w.done = 1;
	pthread_cond_signal(&w.wake);
	pthread_mutex_unlock(&w.lock);
	if (watching)
		pthread_join(t, NULL);
	if (rc == 0 && w.display)
		show_progress(&w); /* the final figures (a short commit shows only with --progress) */
	fe_progress_end(w.display);
	errno = err;
	return rc;
}

/* Commit through the mount and print its report; the commit's exit status, with *pending set
 * when a refused commit left edits in the mount. */
static int ask_commit(const char *mnt, enum fe_progress_mode mode, int *pending)
{
	static char report[REPORT_BYTES + 1];
	ssize_t n;
	char *line, *end;

	*pending = 0;
	if (run_commit(mnt, mode) != 0)
		return errno == EROFS ? 0 : fail_errno(mnt, "commit");
	n = getxattr(mnt, XATTR_REPORT, report, REPORT_BYTES);
	if (n <= 0)
		return fail_errno(mnt, "commit report");
	report[n] = '\0';
	for (line = strchr(report, '\n'); line && *++line; line = end) {
		if (!(end = strchr(line, '\n')))
			break;
		*end = '\0';
		fprintf(stderr, "%s: %s\n", fe_prog, line);
	}
	sscanf(report, "%*d %d", pending);
	return atoi(report);
}

static int run_fusermount(const char *mnt)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		execlp("fusermount3", "fusermount3", "-u", "--", mnt, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return fail_errno(mnt, "fusermount3");
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : APPKG_EXIT_ENVIRONMENT;
}

/* Still running? A daemon that has exited stays a zombie until init reaps it. */
static int alive(long pid)
{
	char path[64], stat[256];
	FILE *f;
	char *paren;
	int running = 0;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if (!(f = fopen(path, "r")))
		return 0;
	if (fgets(stat, sizeof(stat), f) && (paren = strrchr(stat, ')')))
		running = paren[1] == ' ' && paren[2] != 'Z' && paren[2] != 'X';
	fclose(f);
	return running;
}

static int control(const struct options *o)
{
	const char *mnt = o->mountpoint;
	char pid_text[32] = "";
	long pid;
	int status, pending;

	if (getxattr(mnt, XATTR_PID, pid_text, sizeof(pid_text) - 1) <= 0) {
		if (errno != ENODATA && errno != ENOTSUP && errno != ERANGE)
			return fail_errno(mnt, "cannot read"); /* missing, no permission: exit 4 */
		fprintf(stderr, "%s: '%s': not an appkg mount\n", fe_prog, mnt);
		return APPKG_EXIT_USAGE;
	}
	pid = strtol(pid_text, NULL, 10);
	status = ask_commit(mnt, o->progress, &pending);
	if (pending) {
		fprintf(stderr, "%s: '%s': commit refused, the edits are still in the mount: fix what "
			"is said above and run %s %s '%s' again\n", fe_prog, mnt, fe_prog,
			o->unmount ? "-u" : "--commit", mnt);
		return status;
	}
	if (!o->unmount || status == APPKG_EXIT_ENVIRONMENT)
		return status;
	if (run_fusermount(mnt))
		return APPKG_EXIT_ENVIRONMENT;
	while (pid > 0 && alive(pid)) /* the mount ends after its last commit */
		nanosleep(&(struct timespec){.tv_nsec = 10000000}, NULL);
	return status;
}

/* ---- mounting ---- */

static char *absolute(const char *path)
{
	char *copy = strdup(path), *dir_real, *out = NULL;

	if (!copy)
		return NULL;
	dir_real = realpath(dirname(copy), NULL);
	free(copy);
	copy = strdup(path);
	if (dir_real && copy && asprintf(&out, "%s/%s", dir_real, basename(copy)) < 0)
		out = NULL;
	free(dir_real);
	free(copy);
	return out;
}

/* MOUNTPOINT is an empty directory and not a mount point already: mounting over files would
 * hide them, and over a mount would stack a second daemon on the first. */
static int is_mount_point(const char *mnt, const struct stat *st)
{
	struct stat up;
	char *parent = NULL, *real = realpath(mnt, NULL), line[8192], at[PATH_MAX];
	FILE *f = fopen("/proc/self/mountinfo", "r");
	int found = 0;

	if (asprintf(&parent, "%s/..", mnt) > 0 && stat(parent, &up) == 0)
		found = st->st_dev != up.st_dev || st->st_ino == up.st_ino;
	while (!found && real && f && fgets(line, sizeof(line), f)) /* a bind mount: same device */
		found = sscanf(line, "%*s %*s %*s %*s %4095s", at) == 1 && !strcmp(at, real);
	if (f)
		fclose(f);
	free(parent);
	free(real);
	return found;
}

static int check_mountpoint(const char *mnt)
{
	struct stat st;
	struct dirent *e;
	DIR *d;
	int empty = 1;

	if (stat(mnt, &st) != 0)
		return fail_errno(mnt, "mount point");
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "%s: '%s': mount point: not a directory\n", fe_prog, mnt);
		return APPKG_EXIT_ENVIRONMENT;
	}
	if (is_mount_point(mnt, &st)) {
		fprintf(stderr, "%s: '%s': already a mount point: unmount it first\n", fe_prog, mnt);
		return APPKG_EXIT_ENVIRONMENT;
	}
	if (!(d = opendir(mnt)))
		return fail_errno(mnt, "mount point");
	while (empty && (e = readdir(d)))
		empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
	closedir(d);
	if (!empty) {
		fprintf(stderr, "%s: '%s': not empty: the mount would hide its files\n", fe_prog, mnt);
		return APPKG_EXIT_ENVIRONMENT;
	}
	return 0;
}

/* Before the package is opened: MOUNTPOINT must be fit (check_mountpoint; stat follows a
 * symbolic link as mount(8) does, so a link to /dev/zero is refused rather than mounted over),
 * and --output and --log must be writable, so that a commit cannot fail later for a path known
 * bad now. */
static int check_paths(const struct options *o)
{
	int rc = check_mountpoint(o->mountpoint);

	if (rc)
		return rc;
	if (o->output && fe_check_output(o->output, 0))
		return APPKG_EXIT_ENVIRONMENT;
	return o->log ? fe_check_output(o->log, 1) : 0;
}

/* mkdir -p, new directories private to the user. */
static int make_dirs(char *path)
{
	char *slash = path;

	while ((slash = strchr(slash + 1, '/'))) {
		*slash = '\0';
		int rc = mkdir(path, 0700) != 0 && errno != EEXIST;
		*slash = '/';
		if (rc)
			return -1;
	}
	return mkdir(path, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

/* --log, else $XDG_STATE_HOME/appkg/mount.log (~/.local/state/appkg/mount.log): where a
 * refused commit at a plain unmount can be found. NULL (syslog only) when it cannot be made. */
static char *log_file(const char *option)
{
	const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	char *dir = NULL, *path = NULL;
	struct stat st;
	int fd = -1;

	errno = 0;
	if (option)
		path = absolute(option);
	else if ((state && state[0] == '/' ? asprintf(&dir, "%s/appkg", state)
		  : home && home[0] == '/' ? asprintf(&dir, "%s/.local/state/appkg", home) : -1) < 0)
		dir = NULL;
	if (dir && make_dirs(dir) == 0 && asprintf(&path, "%s/mount.log", dir) < 0)
		path = NULL;
	/* appended to at each commit: never a FIFO, which could block the daemon */
	if (path && ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK | O_CLOEXEC,
				0600)) < 0 || fstat(fd, &st) != 0 || S_ISFIFO(st.st_mode))) {
		errno = fd >= 0 && !errno ? EINVAL : errno;
		free(path);
		path = NULL;
	}
	if (fd >= 0)
		close(fd);
	if (!path)
		fprintf(stderr, "%s: '%s': cannot keep a log: %s; commit results go to syslog only\n",
			fe_prog, option ? option : dir ? dir : "$XDG_STATE_HOME",
			errno ? strerror(errno) : "no home directory");
	free(dir);
	return path;
}

/* --sign: the key is loaded once now, so that a wrong password fails the mount and not the
 * first commit; each commit loads it again with the password kept in guarded memory. */
static int load_signing_key(const struct options *o)
{
	struct stat st;
	appkg_writer *w = NULL;
	int rc;

	if (!(fs.sign_key = absolute(o->sign)))
		return fe_report(o->sign, APPKG_ERR_IO, "cannot resolve the path");
	if (stat(fs.sign_key, &st) != 0 || access(fs.sign_key, R_OK) != 0)
		return fail_errno(o->sign, "signing key");
	if (!S_ISREG(st.st_mode)) { /* a FIFO would block, a device never end */
		fprintf(stderr, "%s: '%s': signing key: not a regular file\n", fe_prog, o->sign);
		return APPKG_EXIT_ENVIRONMENT;
	}
	if ((rc = appkg_secret_key_encrypted(fs.sign_key)) < 0)
		return fe_report(o->sign, rc, "signing key: not a minisign secret key");
	if (rc == 1) {
		rc = fe_password_env(o->key_password_file, "APPKG_KEY_PASSWORD", 1, &fs.key_password,
				     &fs.key_password_len);
		if (rc == 1)
			return fe_report(o->sign, APPKG_ERR_NO_PASSWORD, "signing key: no password");
		if (rc < 0)
			return appkg_error_class(rc);
	}
	if (rc == 0 && !(w = appkg_writer_new()))
		rc = APPKG_ERR_NO_MEMORY;
	if (rc == 0)
		rc = appkg_writer_set_signing_key(w, fs.sign_key, fs.key_password, fs.key_password_len);
	if (rc)
		rc = fe_report(o->sign, rc, w ? appkg_writer_error(w) : "");
	appkg_writer_free(w);
	return rc;
}

static int add_secrets_file(char *plain, size_t len)
{
	struct node *n = node_new(SECRETS_FILE, strlen(SECRETS_FILE), S_IFREG | 0600);

	if (!n || dir_insert(fs.root, n) || node_reserve(n, len))
		return APPKG_ERR_NO_MEMORY;
	memcpy(n->data, plain, len);
	n->size = len;
	fs.secrets_plain = plain;
	fs.secrets_plain_len = len;
	return 0;
}

/* The tree unpack would write: every member at its path; secrets.json instead of
 * secrets.enc when there is a password. */
static int build_tree(void)
{
	struct appkg_member m;
	size_t count = appkg_reader_member_count(fs.reader);
	struct tree_load t;
	struct node *n;

	if (!(fs.root = node_new("", 0, S_IFDIR | 0755)))
		return APPKG_ERR_NO_MEMORY;
	tree_load_begin(&t);
	for (size_t i = 0; i < count; i++) {
		if (appkg_reader_member(fs.reader, i, &m))
			return APPKG_ERR_STATE;
		if (!strcmp(m.path, SECRETS_BLOB) && fs.password)
			continue;
		if (tree_load_member(&t, m.path, m.size))
			return APPKG_ERR_NO_MEMORY;
		fs.empty_members += m.size == 0;
	}
	n = dir_find(fs.root, SECRETS_BLOB, strlen(SECRETS_BLOB));
	if (n) {
		n->readonly = 1;
		n->mode = S_IFREG | 0444;
	}
	if (!dir_find(fs.root, RESOURCES_DIR, strlen(RESOURCES_DIR)) &&
	    (!(n = node_new(RESOURCES_DIR, strlen(RESOURCES_DIR), S_IFDIR | 0755)) ||
	     dir_insert(fs.root, n)))
		return APPKG_ERR_NO_MEMORY;
	return 0;
}

static int open_package(const struct options *o)
{
	char *plain;
	size_t len;
	int rc;

	if (!(fs.reader = appkg_reader_new()))
		return fe_report(o->package, APPKG_ERR_NO_MEMORY, "out of memory");
	if ((rc = appkg_reader_open_path(fs.reader, fs.package)))
		return fe_report(o->package, rc, appkg_reader_error(fs.reader));
	if (appkg_reader_has_secrets(fs.reader) && !fs.read_only) {
		rc = fe_password(o->password_file, 1, &fs.password, &fs.password_len);
		if (rc < 0)
			return appkg_error_class(rc);
		if (rc == 0 && (rc = appkg_reader_secrets(fs.reader, fs.password, fs.password_len,
							  &plain, &len)))
			return fe_report(o->package, rc, appkg_reader_error(fs.reader));
	}
	if ((rc = build_tree()) || (fs.password && (rc = add_secrets_file(plain, len))))
		return fe_report(o->package, rc, "out of memory");
	return 0;
}

/* Every operation takes fs.lock, so more threads than a few only add wake-ups: with libfuse's
 * default of 10 a `cat` of every file of corpus M took twice as long as with one. A few, all
 * kept (none made and ended per request), leave one to answer the progress attribute while a
 * commit runs and others to serve the reads a commit's cache invalidation may wait on. */
#define LOOP_THREADS 4

#if FUSE_VERSION >= FUSE_MAKE_VERSION(3, 12)
/* Declared by <fuse_lowlevel.h> only for FUSE_USE_VERSION 3.12 and later; the config is the
 * opaque one that fuse_loop_cfg_create makes. */
int fuse_session_loop_mt_312(struct fuse_session *se, struct fuse_loop_config *config);

static int loop_mt(struct fuse_session *se)
{
	struct fuse_loop_config *config = fuse_loop_cfg_create();
	int rc;

	if (!config)
		return fuse_session_loop_mt(se, 0);
	fuse_loop_cfg_set_max_threads(config, LOOP_THREADS);
	fuse_loop_cfg_set_idle_threads(config, LOOP_THREADS);
	rc = fuse_session_loop_mt_312(se, config);
	fuse_loop_cfg_destroy(config);
	return rc;
}
#else
static int loop_mt(struct fuse_session *se)
{
	return fuse_session_loop_mt(se, 0);
}
#endif

static int serve(struct options *o)
{
	struct fuse_session *se;
	int rc;

	if (fuse_opt_add_arg(&o->fuse, "-o") ||
	    fuse_opt_add_arg(&o->fuse, fs.read_only ? "fsname=appkg,subtype=appkg,ro"
						     : "fsname=appkg,subtype=appkg") ||
	    (o->debug && fuse_opt_add_arg(&o->fuse, "-d")))
		return fe_report(o->mountpoint, APPKG_ERR_NO_MEMORY, "out of memory");
	if (!(se = fuse_session_new(&o->fuse, &appkg_ops, sizeof(appkg_ops), NULL)))
		return APPKG_EXIT_USAGE; /* libfuse said why */
	if (fuse_session_mount(se, o->mountpoint)) {
		fuse_session_destroy(se);
		fprintf(stderr, "%s: '%s': cannot mount\n", fe_prog, o->mountpoint);
		return APPKG_EXIT_ENVIRONMENT;
	}
	fs.se = se;
	if (!fs.read_only && fs.log_path && !o->log && isatty(2)) /* the default, said to a person */
		fprintf(stderr, "%s: '%s': commit results are logged in '%s'\n", fe_prog,
			o->mountpoint, fs.log_path);
	fuse_set_signal_handlers(se);
	fuse_daemonize(o->foreground);
	rc = o->single_thread ? fuse_session_loop(se) : loop_mt(se);
	fs.pusher_stuck = push_end() != 0;
	fuse_remove_signal_handlers(se);
	fuse_session_unmount(se);
	pthread_mutex_lock(&fs.lock);
	fs.unmounted = 1; /* no more requests: what the kernel knew may go */
	rc = rc < 0 ? APPKG_EXIT_ENVIRONMENT : commit_run(1);
	appkg_reader_free(commit_replaced());
	pthread_mutex_unlock(&fs.lock);
	fuse_session_destroy(se);
	fs.se = NULL;
	return rc;
}

static void free_node(struct node *n)
{
	node_free(n);
}

static void release_all(void)
{
	fs.unmounted = 1;
	if (!fs.pusher_stuck) {
		node_free(fs.root);
		limbo_each(free_node);
	}
	appkg_reader_free(fs.reader);
	fe_secret_free(fs.password, fs.password_len);
	fe_secret_free(fs.key_password, fs.key_password_len);
	free(fs.sign_key);
	appkg_secure_free(fs.secrets_plain, fs.secrets_plain_len);
	free(fs.package);
	free(fs.output);
	free(fs.log_path);
}

int main(int argc, char **argv)
{
	struct options o = {.fuse = FUSE_ARGS_INIT(0, NULL)};
	int rc;

	fe_init(argv[0]);
	parse_options(argc, argv, &o);
	if (o.unmount || o.commit) {
		rc = control(&o);
		fuse_opt_free_args(&o.fuse);
		return rc;
	}
	if ((rc = check_paths(&o)) != 0) {
		fuse_opt_free_args(&o.fuse);
		return rc;
	}
	openlog("appkg-mount", LOG_PID, LOG_USER);
	fs.package = absolute(o.package);
	fs.output = absolute(o.output ? o.output : o.package);
	if (!fs.package || !fs.output)
		rc = fe_report(o.package, APPKG_ERR_IO, "cannot resolve the path");
	else if (!(rc = open_package(&o)) &&
		 !(o.sign && (rc = load_signing_key(&o)))) {
		fs.log_path = fs.read_only ? NULL : log_file(o.log);
		rc = serve(&o);
	}
	release_all();
	fuse_opt_free_args(&o.fuse);
	return rc;
}
