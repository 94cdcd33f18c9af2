/*-------------------------------------------------------------------------
 *
 * spoolwatch.c
 *	  The spool worker's inotify watches of the spool: set up, drained,
 *	  compared with what a pass opened, started over.
 *
 *	  The eight directories are watched for their files (a rename into
 *	  place is the normal arrival); the spool's root and its two kinds for
 *	  the directories in them.  Each watch is on the very directory a pass
 *	  opens: the same walk by descriptor (the dir ids of spooldir.h), watched
 *	  through /proc/self/fd, so a spool moved away, removed or replaced is
 *	  noticed, not only the files in it.  When a watched directory goes or
 *	  moves, or one of the spool's appears, or a pass opened other
 *	  directories than the watched ones, the owner is told to start the
 *	  watches over (rewatch); a directory watched anew, or an overflow of
 *	  the queue, asks for a full pass (need_full).
 *
 *	  Not here: the worker's loop, its wait set and its passes (worker.c);
 *	  the walk by descriptor itself (spool.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/inotify.h>
#include <unistd.h>

#include "mig.h"
#include "spoolwatch.h"

void
mig_spool_watch_init(MigSpoolWatch *w)
{
	memset(w, 0, sizeof(MigSpoolWatch));
	w->fd = -1;
	for (int i = 0; i < MIG_SPOOL_NIDS; i++)
		w->wd[i] = -1;
}

/* drop every watch; the next setup starts from nothing */
void
mig_spool_watch_close(MigSpoolWatch *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	w->fd_changed = true;
	for (int i = 0; i < MIG_SPOOL_NIDS; i++)
		w->wd[i] = -1;
	w->complete = false;
}

static bool
same_dir(const MigSpoolDirId *a, const MigSpoolDirId *b)
{
	return a->dev == b->dev && a->ino == b->ino;
}

/* the path of directory i of the spool */
static char *
watch_path(const char *spool, int i)
{
	const char *root = strcmp(spool, "/") == 0 ? "" : spool;

	if (i == MIG_SPOOL_ID_ROOT)
		return pstrdup(spool);
	if (i < MIG_SPOOL_ID_DIR(0))
		return psprintf("%s/%s", root, mig_spool_id_name(i));
	return psprintf("%s/%s", root, mig_spool_dirs[i - MIG_SPOOL_ID_DIR(0)]);
}

/*
 * Watch directory i of the spool, open as fd.  Through /proc/self/fd, the
 * watch is on the very directory the walk opened; by its path (the last
 * component not followed) only where /proc is missing.
 */
static int
add_watch(MigSpoolWatch *w, const char *spool, int i, int fd)
{
	/* the eight: their files; the root and kinds: the directories in them */
	uint32		mask = i >= MIG_SPOOL_ID_DIR(0) ?
		IN_MOVED_TO | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_DELETE | IN_ATTRIB :
		IN_CREATE | IN_MOVED_TO;
	char		proc[64];
	int			wd;

	mask |= IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	wd = inotify_add_watch(w->fd, proc, mask);
	if (wd < 0 && errno == ENOENT)
	{
		char	   *path = watch_path(spool, i);

		wd = inotify_add_watch(w->fd, path,
							   mask | (i == MIG_SPOOL_ID_ROOT ? 0 : IN_DONT_FOLLOW));
		pfree(path);
	}
	/* the kernel's limit of watches reached (a test build's fault) */
	if (MIG_FAULT("spool_watch_error"))
	{
		if (wd >= 0)
			inotify_rm_watch(w->fd, wd);
		wd = -1;
		errno = ENOSPC;
	}
	return wd;
}

/* the inotify instance, started when the spool is first found */
static void
start_inotify(MigSpoolWatch *w)
{
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	w->fd_changed = true;
	if (w->fd < 0)
		ereport(WARNING,
				(errcode_for_file_access(),
				 errmsg("mig spool worker: could not start inotify: %m"),
				 errdetail("The spool is read every mig.rescan_interval only.")));
}

/*
 * Watch the spool: its root, the two kinds and the eight directories, each
 * the very directory a pass opens.  False when the spool cannot be opened
 * (open_errno).  A directory watched anew may have received files unseen:
 * *need_full.  One that is watched but is no longer the one there has the
 * watches started over (rewatch).  A directory missing, or not to be
 * entered, leaves the watches incomplete: the owner looks again soon.
 */
bool
mig_spool_watch_setup(MigSpoolWatch *w, const char *spool, bool *need_full)
{
	int			fds[MIG_SPOOL_NIDS];
	MigSpoolDirId ids[MIG_SPOOL_NIDS];
	bool		complete = true;

	memset(ids, 0, sizeof(ids));
	fds[MIG_SPOOL_ID_ROOT] = mig_spool_open_dir(-1, spool, &ids[MIG_SPOOL_ID_ROOT]);
	if (fds[MIG_SPOOL_ID_ROOT] < 0)
	{
		w->open_errno = errno;
		if (w->fd >= 0)
			mig_spool_watch_close(w);
		return false;
	}
	if (w->fd < 0)
		start_inotify(w);
	for (int i = 0; i < MIG_SPOOL_NIDS; i++)
	{
		if (i != MIG_SPOOL_ID_ROOT)
		{
			int			parent = fds[i < MIG_SPOOL_ID_DIR(0) ? MIG_SPOOL_ID_ROOT :
								 MIG_SPOOL_ID_KIND(i - MIG_SPOOL_ID_DIR(0))];

			fds[i] = parent < 0 ? -1 :
				mig_spool_open_dir(parent, mig_spool_id_name(i), &ids[i]);
		}
		if (fds[i] < 0)
		{
			/* missing, or not to be entered */
			complete = false;
			continue;
		}
		if (w->wd[i] >= 0)
		{
			if (!same_dir(&ids[i], &w->id[i]))
				w->rewatch = true;
			continue;
		}
		if (w->fd < 0)
		{
			complete = false;
			continue;
		}
		w->wd[i] = add_watch(w, spool, i, fds[i]);
		if (w->wd[i] < 0)
		{
			complete = false;
			if (!w->warned)
			{
				ereport(WARNING,
						(errcode_for_file_access(),
						 errmsg("mig spool worker: could not watch spool directory \"%s\": %m",
								watch_path(spool, i)),
						 errdetail("What arrives there is seen once the watch is added, which is tried again, or at the next full pass."),
						 errhint("The kernel's fs.inotify.max_user_watches may be too low.")));
				w->warned = true;
			}
		}
		else
		{
			w->id[i] = ids[i];
			*need_full = true;
		}
	}
	for (int i = 0; i < MIG_SPOOL_NIDS; i++)
		mig_spool_close_dir(fds[i]);
	w->complete = complete;
	if (complete)
		w->warned = false;
	return true;
}

/*
 * After a batch of pass: a pass that could not open the spool, or that
 * opened other directories than the ones watched (the spool was replaced
 * under the watches and the events were lost, in an overflow), has the
 * watches started over.
 */
void
mig_spool_watch_check(MigSpoolWatch *w, MigSpoolPass *pass)
{
	MigSpoolDirId ids[MIG_SPOOL_NIDS];

	if (!mig_spool_pass_dirs(pass, ids))
	{
		w->rewatch = true;
		return;
	}
	for (int i = 0; i < MIG_SPOOL_NIDS; i++)
		if (ids[i].ino != 0 && w->wd[i] >= 0 && !same_dir(&ids[i], &w->id[i]))
			w->rewatch = true;
}

/* whether name, in directory i (the root or a kind), is one of the spool's */
static bool
spool_child(int i, const char *name)
{
	for (int c = 1; c < MIG_SPOOL_NIDS; c++)
	{
		int			parent = c < MIG_SPOOL_ID_DIR(0) ? MIG_SPOOL_ID_ROOT :
			MIG_SPOOL_ID_KIND(c - MIG_SPOOL_ID_DIR(0));

		if (parent == i && strcmp(name, mig_spool_id_name(c)) == 0)
			return true;
	}
	return false;
}

/*
 * One event: false when the watches must start over (the rest of the
 * events go with the old watches).
 */
static bool
take_event(MigSpoolWatch *w, const struct inotify_event *ev,
		   MigSpoolWatchFile file, void *arg, bool *need_full)
{
	int			i;

	if (ev->mask & IN_Q_OVERFLOW)
	{
		*need_full = true;
		return true;
	}
	for (i = 0; i < MIG_SPOOL_NIDS; i++)
		if (w->wd[i] == ev->wd)
			break;
	if (i == MIG_SPOOL_NIDS)
		return true;

	/*
	 * A watched directory went, or moved: the spool may be moved away,
	 * removed or replaced.
	 */
	if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT))
	{
		w->rewatch = true;
		return false;
	}
	/* a directory of the spool appeared in the root or a kind */
	if (i < MIG_SPOOL_ID_DIR(0))
	{
		if (ev->len > 0 && spool_child(i, ev->name))
		{
			w->rewatch = true;
			return false;
		}
		return true;
	}
	if (ev->len > 0 && mig_spool_name_ok(ev->name))
		file(i - MIG_SPOOL_ID_DIR(0), ev->name, arg);
	return true;
}

/*
 * Read every event there is: file(dir, name, arg) for each file named in
 * the eight directories; *need_full after an overflow; rewatch when the
 * watches must start over (then the rest is left unread).
 */
void
mig_spool_watch_drain(MigSpoolWatch *w, MigSpoolWatchFile file, void *arg,
					  bool *need_full)
{
	char		buf[16384] pg_attribute_aligned(8);

	if (w->fd < 0)
		return;
	for (;;)
	{
		ssize_t		len = read(w->fd, buf, sizeof(buf));
		char	   *p;

		if (len < 0)
		{
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				ereport(WARNING,
						(errcode_for_file_access(),
						 errmsg("mig spool worker: could not read inotify events: %m")));
			return;
		}
		if (len == 0)
			return;
		for (p = buf; p < buf + len;)
		{
			struct inotify_event *ev = (struct inotify_event *) p;

			p += sizeof(struct inotify_event) + ev->len;
			if (!take_event(w, ev, file, arg, need_full))
				return;
		}
	}
}
