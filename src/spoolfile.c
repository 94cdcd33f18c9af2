/*-------------------------------------------------------------------------
 *
 * spoolfile.c
 *	  One file of MIG's spool: whether a name is a spool file, reading it
 *	  by descriptor, and what it holds.  Data flows one way: file -> read
 *	  -> parse -> validate; what comes out is the SpoolFile with its
 *	  outcome so far (to be written, deferred, failed and why, skipped as
 *	  unchanged, vanished) and the action or command it holds.
 *
 *	  A file is read in the directory the pass opened, never through a
 *	  symbolic link: fstatat without following it, openat with O_NOFOLLOW
 *	  and O_NONBLOCK (a FIFO cannot block the pass), fstat of the
 *	  descriptor, at most mig.max_file_size bytes, UTF-8 without NUL, then
 *	  JSON as PostgreSQL's parser accepts it (jsondoc.c).  The formats are MIG's: an action bare or
 *	  wrapped as older MIG wrote it; a command with its agent as an object
 *	  or, as older MIG wrote it, by name and queue location.
 *
 *	  Not here: the directories and the status a file takes from them
 *	  (lifecycle.c), walking the spool (spool.c), what the tables get
 *	  (spoolstore.c), reading JSON (jsondoc.c), Go's timestamps (gotime.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mb/pg_wchar.h"
#include "storage/fd.h"

#include "mig.h"
#include "gotime.h"
#include "jsondoc.h"
#include "lifecycle.h"
#include "spoolfile.h"

/*
 * Whether a directory entry is a spool file: "*.json", or a name without a
 * dot (what the scheduler drops in command/returned is named by its GenID
 * alone); never a hidden name, nor "*.fail" and the like; and a name the
 * database can store.
 */
bool
mig_spool_name_ok(const char *name)
{
	size_t		len = strlen(name);

	if (len == 0 || len > 255 || name[0] == '.')
		return false;
	if (strchr(name, '.') != NULL &&
		(len <= 5 || strcmp(name + len - 5, ".json") != 0))
		return false;
	return pg_verifymbstr(name, len, true);
}

/* ------------------------------------------------------------------------
 * Actions and commands
 * ------------------------------------------------------------------------
 */

/* an action at obj: the fields of Go's mig.Action the tables keep */
static bool
parse_action(MigJsonDoc *doc, int obj, const char *prefix, ParsedAction *pa, char **error)
{
	bool		unset;
	bool		present;
	int64		v;

	memset(pa, 0, sizeof(*pa));
	if (!mig_json_get_id(doc, obj, prefix, "id", &pa->id, error) ||
		!mig_json_get_string(doc, obj, prefix, "name", 2048, true, &pa->name, error) ||
		!mig_json_get_string(doc, obj, prefix, "target", 2048, true, &pa->target, error) ||
		!mig_json_get_verbatim(doc, obj, prefix, "description", MIG_JSON_OBJECT, false,
							   &pa->description, error) ||
		!mig_json_get_verbatim(doc, obj, prefix, "threat", MIG_JSON_OBJECT, false,
							   &pa->threat, error) ||
		!mig_json_get_verbatim(doc, obj, prefix, "operations", MIG_JSON_ARRAY, false,
							   &pa->operations, error) ||
		!mig_json_get_verbatim(doc, obj, prefix, "pgpsignatures", MIG_JSON_ARRAY, true,
							   &pa->pgpsignatures, error) ||
		!mig_json_get_time(doc, obj, prefix, "validfrom", true, &pa->validfrom, &unset, error) ||
		!mig_json_get_time(doc, obj, prefix, "expireafter", true, &pa->expireafter, &unset, error) ||
		!mig_json_get_time(doc, obj, prefix, "starttime", false, &pa->starttime, &unset, error))
		return false;
	pa->has_starttime = !unset;
	if (!mig_json_get_time(doc, obj, prefix, "finishtime", false, &pa->finishtime, &unset, error))
		return false;
	pa->has_finishtime = !unset;
	if (!mig_json_get_time(doc, obj, prefix, "lastupdatetime", false, &pa->lastupdatetime,
						   &unset, error))
		return false;
	pa->has_lastupdatetime = !unset;
	if (!mig_json_get_string(doc, obj, prefix, "status", 256, false, &pa->status, error))
		return false;
	if (pa->status != NULL && pa->status[0] == '\0')
		pa->status = NULL;
	if (!mig_json_get_int(doc, obj, prefix, "syntaxversion", 0, PG_INT32_MAX, &present, &v, error))
		return false;
	pa->has_syntaxversion = present;
	pa->syntaxversion = (int32) v;
	return true;
}

/* a time of the wrapper, when set, replaces the action's */
static bool
wrapper_time(MigJsonDoc *doc, const char *key, TimestampTz *time, bool *has, char **error)
{
	TimestampTz t;
	bool		unset;

	if (!mig_json_get_time(doc, 0, "", key, false, &t, &unset, error))
		return false;
	if (!unset)
	{
		*time = t;
		*has = true;
	}
	return true;
}

/* the wrapper's status and times are the scheduler's: they win */
static bool
parse_wrapper(MigJsonDoc *doc, char *status, ParsedAction *pa, char **error)
{
	if (status != NULL && status[0] != '\0')
		pa->status = status;
	return wrapper_time(doc, "starttime", &pa->starttime, &pa->has_starttime, error) &&
		wrapper_time(doc, "finishtime", &pa->finishtime, &pa->has_finishtime, error) &&
		wrapper_time(doc, "lastupdatetime", &pa->lastupdatetime, &pa->has_lastupdatetime,
					 error);
}

/*
 * An action file: Go's mig.Action, bare or wrapped as older MIG wrote it.
 * Without an id it waits in new/ (the scheduler gives it one) and fails
 * anywhere else.
 */
static void
parse_action_file(SpoolFile *f, MigJsonDoc *doc)
{
	int			inner;
	int			obj = 0;
	char	   *wrapper_status = NULL;
	char	   *error = NULL;
	ParsedAction *pa = palloc(sizeof(ParsedAction));
	const char *prefix = "";

	/*
	 * The wrapped form: {"action": {...}, "status": ..., "starttime": ...,
	 * "finishtime": ..., "lastupdatetime": ..., "commandids": [...],
	 * "counters": {...}}.
	 */
	if (!mig_json_get_object(doc, 0, "", "action", &inner, &error))
		goto fail;
	if (inner >= 0)
	{
		if (!mig_json_get_string(doc, 0, "", "status", 256, false, &wrapper_status, &error))
			goto fail;
		obj = inner;
		prefix = "action.";
	}

	if (!parse_action(doc, obj, prefix, pa, &error))
		goto fail;
	if (inner >= 0 && !parse_wrapper(doc, wrapper_status, pa, &error))
		goto fail;

	f->action = pa;
	f->action_status = (char *) mig_effective_status(f->dir, pa->status);
	f->objectid = pa->id;
	if (pa->id == 0)
	{
		if (f->dir == MIG_DIR_ACTION_NEW)
		{
			f->outcome = OUT_DEFERRED;
			f->error = pstrdup("the action has no id yet: the scheduler gives it one");
			f->action = NULL;
			return;
		}
		error = psprintf("field \"%sid\" is missing: an action outside new/ must have an id",
						 prefix);
		goto fail;
	}
	f->outcome = OUT_NONE;
	return;

fail:
	f->outcome = OUT_FAILED;
	f->error = error;
	f->action = NULL;
}

/*
 * The agent a command names: {"agent": {"id", "name", "queueloc", ...}},
 * or "agentname" and "agentqueueloc" (older MIG); found by id when it has
 * one, else by queue location.
 */
static bool
parse_agent(MigJsonDoc *doc, ParsedCommand *pc, char **error)
{
	int			agent;

	if (!mig_json_get_object(doc, 0, "", "agent", &agent, error))
		return false;
	if (agent >= 0)
	{
		if (!mig_json_get_id(doc, agent, "agent.", "id", &pc->agent_id, error) ||
			!mig_json_get_string(doc, agent, "agent.", "name", 2048, true, &pc->agent_name, error) ||
			!mig_json_get_string(doc, agent, "agent.", "queueloc", 2048, true,
								 &pc->agent_queueloc, error))
			return false;
	}
	else if (mig_json_has(doc, 0, "agentname") || mig_json_has(doc, 0, "agentqueueloc"))
	{
		if (!mig_json_get_string(doc, 0, "", "agentname", 2048, true, &pc->agent_name, error) ||
			!mig_json_get_string(doc, 0, "", "agentqueueloc", 2048, true, &pc->agent_queueloc,
								 error))
			return false;
	}
	else
	{
		*error = pstrdup("the command names no agent: neither \"agent\" nor \"agentname\" and \"agentqueueloc\"");
		return false;
	}
	if (pc->agent_id == 0 && pc->agent_queueloc[0] == '\0')
	{
		*error = pstrdup("the command's agent has neither an id nor a queue location");
		return false;
	}
	return true;
}

/*
 * A command file: Go's mig.Command, with the action it runs (validated as
 * an action file's is) and its agent.
 */
static void
parse_command_file(SpoolFile *f, MigJsonDoc *doc)
{
	ParsedCommand *pc = palloc0(sizeof(ParsedCommand));
	char	   *error = NULL;
	int			action;
	bool		unset;
	char	   *status;

	if (!mig_json_get_id(doc, 0, "", "id", &pc->id, &error))
		goto fail;
	if (pc->id == 0)
	{
		error = pstrdup("field \"id\" is missing or 0: a command must have a positive id");
		goto fail;
	}
	f->objectid = pc->id;

	/* the embedded action */
	if (!mig_json_get_object(doc, 0, "", "action", &action, &error))
		goto fail;
	if (action < 0)
	{
		error = pstrdup("field \"action\" is missing");
		goto fail;
	}
	if (!parse_action(doc, action, "action.", &pc->action, &error))
		goto fail;
	if (pc->action.id == 0)
	{
		error = pstrdup("field \"action.id\" is missing or 0: a command's action must have a positive id");
		goto fail;
	}

	if (!parse_agent(doc, pc, &error))
		goto fail;

	if (!mig_json_get_string(doc, 0, "", "status", 256, false, &status, &error))
		goto fail;
	if (status != NULL && status[0] == '\0')
		status = NULL;
	pc->status = (char *) mig_effective_status(f->dir, status);
	if (pc->status == NULL)
	{
		error = psprintf("field \"status\" is missing: a command in %s/ must say how it ended",
						 mig_spool_lifecycle[f->dir].leaf);
		goto fail;
	}

	if (!mig_json_get_verbatim(doc, 0, "", "results", MIG_JSON_ARRAY, false, &pc->results, &error) ||
		!mig_json_get_time(doc, 0, "", "starttime", false, &pc->starttime, &unset, &error) ||
		!mig_json_get_time(doc, 0, "", "finishtime", false, &pc->finishtime, &unset, &error))
		goto fail;
	pc->has_finishtime = !unset;

	f->command = pc;
	f->outcome = OUT_NONE;
	return;

fail:
	f->outcome = OUT_FAILED;
	f->error = error;
}

/* each kind's parser (what the tables get of it: spoolstore.c's kinds) */
static void (*const parse_kind[MIG_SPOOL_NKINDS]) (SpoolFile *f, MigJsonDoc *doc) = {
	[MIG_KIND_ACTION] = parse_action_file,
	[MIG_KIND_COMMAND] = parse_command_file,
};

/*
 * What a spool file holds: validate buf[0..len-1] (NUL-terminated at len),
 * parse it and hand the document to its kind, the one f->dir holds.  Sets
 * f's outcome (OUT_NONE: valid, OUT_DEFERRED, OUT_FAILED with error) and
 * what it holds.  A bad file fails alone: no ERROR, which would stop the
 * whole pass.  Apart from reading the file so that the fuzzer
 * (test/fuzz/fuzz_spoolfile.c) runs the very code the spool sync does.
 */
void
mig_spool_parse_file(SpoolFile *f, char *buf, size_t len)
{
	MigJsonDoc *doc;
	char	   *error = NULL;
	int			valid;

	if (len == 0)
	{
		f->outcome = OUT_FAILED;
		f->error = pstrdup("the file is empty");
		return;
	}
	valid = pg_encoding_verifymbstr(PG_UTF8, buf, len);
	if (valid < (int) len)
	{
		f->outcome = OUT_FAILED;
		if (buf[valid] == '\0')
			f->error = psprintf("the file holds a NUL byte at offset %d", valid);
		else
			f->error = psprintf("the file is not valid UTF-8 at offset %d", valid);
		return;
	}
	doc = mig_json_parse(buf, len, &error);
	if (doc == NULL)
	{
		f->outcome = OUT_FAILED;
		f->error = error;
		return;
	}
	parse_kind[mig_spool_lifecycle[f->dir].kind] (f, doc);
}

/* ------------------------------------------------------------------------
 * Reading a file, by descriptor
 * ------------------------------------------------------------------------
 */

static TimestampTz
stat_mtime(const struct stat *st)
{
	return mig_unix_to_timestamptz(st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
}

/* what a file that is not a regular one is, for messages */
const char *
mig_spool_file_type(mode_t mode)
{
	if (S_ISLNK(mode))
		return "a symbolic link (not followed)";
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISBLK(mode))
		return "a block device";
	if (S_ISSOCK(mode))
		return "a socket";
	return "not a regular file";
}

static void
set_stat(SpoolFile *f, const struct stat *st)
{
	f->stat_known = true;
	f->inode = (int64) st->st_ino;
	f->size = (int64) st->st_size;
	f->mtime = stat_mtime(st);
}

/* a bad file; retry: not the content's fault, tried again on every pass */
void
mig_spool_fail_file(SpoolFile *f, bool retry, char *error)
{
	f->outcome = OUT_FAILED;
	f->error = error;
	f->retry = retry;
}

/*
 * Open name in directory dirfd (-1: name is a path), the descriptor
 * reported to PostgreSQL (AcquireExternalFD); -1 with errno set if it
 * could not be opened.
 */
int
mig_spool_openat(int dirfd, const char *name, int flags)
{
	int			fd;
	int			save;

	if (!AcquireExternalFD())
		return -1;				/* EMFILE */
	fd = dirfd < 0 ? open(name, flags) : openat(dirfd, name, flags);
	if (fd < 0)
	{
		save = errno;
		ReleaseExternalFD();
		errno = save;
	}
	return fd;
}

/* close a descriptor reported to PostgreSQL, and forget it */
void
mig_spool_release_fd(int *fd)
{
	if (*fd >= 0)
	{
		close(*fd);
		ReleaseExternalFD();
		*fd = -1;
	}
}

/* whether a file of size bytes may be read; if not, f fails */
static bool
size_ok(SpoolFile *f, off_t size, int64 max_bytes)
{
	if (size <= max_bytes)
		return true;
	mig_spool_fail_file(f, false, psprintf("the file is " INT64_FORMAT " bytes, more than mig.max_file_size (" INT64_FORMAT " kB)",
										   (int64) size, max_bytes / 1024));
	return false;
}

/*
 * The entry, without following it: vanished, unchanged since spool_files
 * recorded it (skipped, not read) or not a regular file (failed); true if
 * it is to be opened.  Its size is judged on the open descriptor.
 */
static bool
check_entry(SpoolFile *f, int dirfd)
{
	struct stat st;

	/*
	 * A file without a row is not unchanged, and when the listing saw a
	 * regular file an fstatat would only repeat what it said, as much
	 * before the open as it: the fstat of the open descriptor decides.
	 */
	if (!f->has_row && f->listed_regular)
		return true;
	if (fstatat(dirfd, f->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
	{
		if (errno == ENOENT || errno == ENOTDIR)
			f->outcome = OUT_VANISHED;
		else
			mig_spool_fail_file(f, true, psprintf("could not stat the file: %m"));
		return false;
	}
	set_stat(f, &st);
	if (f->has_row && f->row_stat && !f->row_deferred &&
		f->row_inode == f->inode && f->row_size == f->size && f->row_mtime == f->mtime)
	{
		f->outcome = OUT_SKIPPED;
		return false;
	}
	if (!S_ISREG(st.st_mode))
	{
		mig_spool_fail_file(f, false, psprintf("the file is %s", mig_spool_file_type(st.st_mode)));
		return false;
	}
	return true;
}

/*
 * Open the file into *fd without following a link or blocking, and check
 * that the descriptor is a regular file; false if it is not to be read
 * (and *fd closed again).
 */
static bool
open_file(SpoolFile *f, int dirfd, int *fd, struct stat *st)
{
	*fd = mig_spool_openat(dirfd, f->name,
						   O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | PG_BINARY);
	if (*fd < 0)
	{
		if (errno == ENOENT)
			f->outcome = OUT_VANISHED;
		else if (errno == ELOOP)
			mig_spool_fail_file(f, false, pstrdup("the file is a symbolic link (not followed)"));
		else
			mig_spool_fail_file(f, true, psprintf("could not open the file: %m"));
		return false;
	}
	if (fstat(*fd, st) < 0)
	{
		mig_spool_fail_file(f, true, psprintf("could not stat the open file: %m"));
		mig_spool_release_fd(fd);
		return false;
	}
	set_stat(f, st);
	if (!S_ISREG(st->st_mode))
	{
		mig_spool_fail_file(f, false, psprintf("the file is %s", mig_spool_file_type(st->st_mode)));
		mig_spool_release_fd(fd);
		return false;
	}
	return true;
}

/*
 * Read the open file to the end, one byte past the limit at most, and
 * close it; NULL if it could not be read or is too large.
 */
static char *
read_file(SpoolFile *f, int *fd, off_t size, int64 max_bytes, size_t *lenp)
{
	size_t		cap = Min((int64) size, max_bytes) + 1;
	size_t		len = 0;
	char	   *buf = palloc(cap + 1);

	for (;;)
	{
		ssize_t		n;
		size_t		want;

		if (len == cap)
		{
			if ((int64) cap > max_bytes)
				break;
			cap = Min((int64) cap * 2, max_bytes + 1);
			buf = repalloc(buf, cap + 1);
		}
		want = cap - len;
		n = read(*fd, buf + len, want);
		if (MIG_FAULT("spool_read_error"))
		{
			n = -1;
			errno = EIO;
		}
		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			mig_spool_fail_file(f, true, psprintf("could not read the file: %m"));
			mig_spool_release_fd(fd);
			return NULL;
		}
		if (n == 0)
			break;
		len += n;
		/* short, at the size fstat gave: the end, without a read of nothing */
		if ((size_t) n < want && (off_t) len == size)
			break;
	}
	mig_spool_release_fd(fd);
	if ((int64) len > max_bytes)
	{
		mig_spool_fail_file(f, false, psprintf("the file is more than mig.max_file_size (" INT64_FORMAT " kB)",
											   max_bytes / 1024));
		return NULL;
	}
	buf[len] = '\0';
	*lenp = len;
	return buf;
}

#ifdef MIG_FAULT_INJECTION
/*
 * The races a test cannot time (mig.fault_injection): the scheduler, or
 * anyone, renames ".swap.NAME" (when there is one) over the file between
 * its check and its open, or appends 8 kB of blanks to it between its open
 * and its read.
 */
static void
fault_swap(SpoolFile *f, int dirfd)
{
	(void) renameat(dirfd, psprintf(".swap.%s", f->name), dirfd, f->name);
}

static void
fault_grow(SpoolFile *f, int dirfd)
{
	char		blanks[8192];
	int			wfd = openat(dirfd, f->name, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);

	if (wfd < 0)
		return;
	memset(blanks, ' ', sizeof(blanks));
	if (write(wfd, blanks, sizeof(blanks)) != sizeof(blanks))
		elog(LOG, "fault injection: could not append to \"%s\": %m", f->name);
	close(wfd);
}
#else
#define fault_swap(f, dirfd) ((void) 0)
#define fault_grow(f, dirfd) ((void) 0)
#endif

/*
 * Read file f of directory dirfd, the one the pass listed: fstatat
 * without following (unless it is new and was listed as a regular file),
 * skip it if unchanged, refuse what is not a regular file, openat without
 * following links or blocking, fstat the descriptor, refuse it if it is
 * not a regular file or is over max_bytes, read it, then parse.  Only the
 * file's own name is resolved: the directory is the one listed, whatever its path has
 * become.  The descriptor is kept in *fd (-1 on entry and on return),
 * which is the caller's, so that an error before the close cannot leak it.
 */
void
mig_spool_examine_file(SpoolFile *f, int dirfd, int64 max_bytes, int *fd)
{
	struct stat st;
	char	   *buf;
	size_t		len = 0;

	Assert(dirfd >= 0 && *fd < 0);
	if (!check_entry(f, dirfd))
		return;
	if (MIG_FAULT("spool_swap"))
		fault_swap(f, dirfd);
	if (!open_file(f, dirfd, fd, &st))
		return;
	if (!size_ok(f, st.st_size, max_bytes))
	{
		mig_spool_release_fd(fd);
		return;
	}
	if (MIG_FAULT("spool_grow"))
		fault_grow(f, dirfd);
	buf = read_file(f, fd, st.st_size, max_bytes, &len);
	if (buf != NULL)
		mig_spool_parse_file(f, buf, len);
}
