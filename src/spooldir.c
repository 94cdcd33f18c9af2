/*-------------------------------------------------------------------------
 *
 * spooldir.c
 *	  The spool's directories, walked by descriptor: the root opened once
 *	  by its path, each kind and each of the eight directories by its name
 *	  in its parent's descriptor, never through a symbolic link (O_NOFOLLOW
 *	  guards only the last component of a path; walking by descriptor makes
 *	  every component a last one), and listed through the descriptor it was
 *	  opened as.
 *
 *	  A directory that cannot be entered or listed (a symbolic link, not a
 *	  directory, no permission, an I/O error) is not read: its reason is
 *	  kept for its row in spool_files, and in a full pass a WARNING says it
 *	  and the worker's last_error shows it.  One that does not exist is no
 *	  error: a spool half moved away or being recreated is not a spool
 *	  emptied, and its files' rows are kept either way.
 *
 *	  Not here: the passes and batches that use the walk (spool.c), one
 *	  file's descriptor (spoolfile.c), the worker's watches on the same
 *	  directories (spoolwatch.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/fd.h"

#include "mig.h"
#include "spooldir.h"
#include "spoolfile.h"

/* spool + "/" + rel, without doubling the slash of a root spool */
char *
mig_spool_path(const char *spool, const char *rel)
{
	if (strcmp(spool, "/") == 0)
		return psprintf("/%s", rel);
	return psprintf("%s/%s", spool, rel);
}

char *
mig_spool_file_path(const char *spool, int d, const char *name)
{
	if (strcmp(spool, "/") == 0)
		return psprintf("/%s/%s", mig_spool_dirs[d], name);
	return psprintf("%s/%s/%s", spool, mig_spool_dirs[d], name);
}

/* the name of directory id in its parent; the root has none */
const char *
mig_spool_id_name(int id)
{
	if (id == MIG_SPOOL_ID_ROOT)
		return NULL;
	if (id < MIG_SPOOL_ID_DIR(0))
		return mig_spool_kinds[id - 1];
	return mig_spool_lifecycle[id - MIG_SPOOL_ID_DIR(0)].leaf;
}

/*
 * Open a directory of the spool: the root (parent -1, name its path, which
 * may hold symbolic links), or name in the open directory parent, never
 * through a symbolic link.  The descriptor is reported to PostgreSQL
 * (close it with mig_spool_close_dir); -1 with errno set if it could not
 * be opened.  *id is what was opened.
 */
int
mig_spool_open_dir(int parent, const char *name, MigSpoolDirId *id)
{
	int			fd;
	struct stat st;

	if (parent < 0)
		fd = mig_spool_openat(-1, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	else
		fd = mig_spool_openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0 && id != NULL)
	{
		memset(id, 0, sizeof(MigSpoolDirId));
		if (fstat(fd, &st) == 0)
		{
			id->dev = (uint64) st.st_dev;
			id->ino = (uint64) st.st_ino;
		}
	}
	return fd;
}

void
mig_spool_close_dir(int fd)
{
	mig_spool_release_fd(&fd);
}

/* ------------------------------------------------------------------------
 * One pass's walk
 * ------------------------------------------------------------------------
 */

void
mig_spool_tree_init(MigSpoolTree *tree, const char *spool, bool report,
					MemoryContext cxt)
{
	memset(tree, 0, sizeof(MigSpoolTree));
	tree->spool = spool;
	tree->report = report;
	tree->cxt = cxt;
	for (int i = 0; i < MIG_SPOOL_NIDS; i++)
		tree->dirs[i].fd = -1;
}

/* close the listing under way, if any */
static void
close_listing(MigSpoolTree *tree)
{
	if (tree->listing != NULL)
	{
		closedir(tree->listing);
		ReleaseExternalFD();
		tree->listing = NULL;
	}
}

/*
 * Close every descriptor the walk still holds: also what an error path
 * calls.
 */
void
mig_spool_tree_end(MigSpoolTree *tree)
{
	close_listing(tree);
	for (int i = 0; i < MIG_SPOOL_NIDS; i++)
		mig_spool_release_fd(&tree->dirs[i].fd);
}

/* open the root, once: false if it cannot be (root_errno says why) */
bool
mig_spool_tree_open_root(MigSpoolTree *tree)
{
	MigSpoolTreeDir *root = &tree->dirs[MIG_SPOOL_ID_ROOT];

	if (!root->tried)
	{
		root->tried = true;
		root->fd = mig_spool_open_dir(-1, tree->spool, &root->id);
		if (root->fd < 0)
			tree->root_errno = errno;
	}
	return root->fd >= 0;
}

/* what a path that should be a directory is instead */
static const char *
not_dir_name(mode_t mode)
{
	return S_ISREG(mode) ? "a regular file" : mig_spool_file_type(mode);
}

/*
 * Directory id could not be opened in parent (open_errno, not ENOENT):
 * why, in dirs[id].problem, and, in a tree that reports, a WARNING and the
 * tree's problem for the worker.  One gone since is no problem: as if it
 * never was.  In the tree's context.
 */
static void
dir_problem(MigSpoolTree *tree, int id, int parent, int open_errno)
{
	MigSpoolTreeDir *td = &tree->dirs[id];
	bool		kind = id < MIG_SPOOL_ID_DIR(0);
	const char *name = mig_spool_id_name(id);
	char	   *path = kind ? mig_spool_path(tree->spool, name) :
		mig_spool_path(tree->spool, mig_spool_dirs[id - MIG_SPOOL_ID_DIR(0)]);
	struct stat st;
	int			stat_ret = fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW);
	int			stat_errno = errno;

	if (stat_ret == 0 && !S_ISDIR(st.st_mode))
	{
		const char *what = not_dir_name(st.st_mode);

		td->problem = kind ? psprintf("the directory \"%s\" is %s", name, what) :
			psprintf("the directory is %s", what);
		if (tree->report)
		{
			tree->problem = psprintf("spool directory \"%s\" is %s", path, what);
			ereport(WARNING,
					(errcode(ERRCODE_WRONG_OBJECT_TYPE),
					 errmsg("spool directory \"%s\" is %s", path, what),
					 errdetail("Nothing under it is read; the rows of its files in spool_files are kept.")));
		}
	}
	else if (stat_ret < 0 && stat_errno == ENOENT)
	{
		/* gone since: as if it never was */
	}
	else
	{
		errno = open_errno;
		td->problem = kind ? psprintf("could not open the directory \"%s\": %m", name) :
			psprintf("could not open the directory: %m");
		if (tree->report)
		{
			errno = open_errno;
			tree->problem = psprintf("could not open spool directory \"%s\": %m", path);
			errno = open_errno;
			ereport(WARNING,
					(errcode_for_file_access(),
					 errmsg("could not open spool directory \"%s\": %m", path),
					 errdetail("Nothing under it is read; the rows of its files in spool_files are kept.")));
		}
	}
}

/*
 * The descriptor of directory id (a kind, or one of the eight), opened on
 * first use: the root must be open.  -1 when it cannot be entered: nothing
 * under it is read, and the rows of its files are kept.  One that does not
 * exist is no error; one that is a symbolic link, not a directory, or
 * cannot be opened gets its reason in dirs[id].problem (the eight
 * directories under a kind that cannot be entered get the kind's).
 */
int
mig_spool_tree_fd(MigSpoolTree *tree, int id)
{
	MigSpoolTreeDir *td = &tree->dirs[id];
	bool		kind = id < MIG_SPOOL_ID_DIR(0);
	int			parent;
	int			open_errno;
	MemoryContext old;

	Assert(id != MIG_SPOOL_ID_ROOT && tree->dirs[MIG_SPOOL_ID_ROOT].fd >= 0);
	if (td->tried)
		return td->fd;
	td->tried = true;
	parent = kind ? tree->dirs[MIG_SPOOL_ID_ROOT].fd :
		mig_spool_tree_fd(tree, MIG_SPOOL_ID_KIND(id - MIG_SPOOL_ID_DIR(0)));
	if (parent < 0)
	{
		td->problem = tree->dirs[MIG_SPOOL_ID_KIND(id - MIG_SPOOL_ID_DIR(0))].problem;
		return -1;
	}
	td->fd = mig_spool_open_dir(parent, mig_spool_id_name(id), &td->id);
	if (td->fd >= 0)
		return td->fd;
	open_errno = errno;
	if (open_errno == ENOENT)
		return -1;

	old = MemoryContextSwitchTo(tree->cxt);
	dir_problem(tree, id, parent, open_errno);
	MemoryContextSwitchTo(old);
	return -1;
}

/* ------------------------------------------------------------------------
 * Listing a directory
 * ------------------------------------------------------------------------
 */

/*
 * A listing of the open directory td through a descriptor of its own
 * (a dup, which closedir closes), reported to PostgreSQL; false with errno
 * set.
 */
static bool
open_listing(MigSpoolTree *tree, MigSpoolTreeDir *td)
{
	int			fd;
	int			save;

	if (!AcquireExternalFD())
		return false;
	fd = dup(td->fd);
	if (fd >= 0 && (tree->listing = fdopendir(fd)) == NULL)
	{
		save = errno;
		close(fd);
		errno = save;
	}
	if (tree->listing == NULL)
	{
		save = errno;
		ReleaseExternalFD();
		errno = save;
		return false;
	}
	/* the copy shares its offset with the directory's descriptor */
	rewinddir(tree->listing);
	return true;
}

/* the spool files of the listing; false with errno set */
static bool
read_listing(MigSpoolTree *tree, MigSpoolListed **names, int *nnames)
{
	int			max = 256;
	struct dirent *de;

	*names = palloc(sizeof(MigSpoolListed) * max);
	for (;;)
	{
		errno = 0;
		de = readdir(tree->listing);
		if (MIG_FAULT("spool_list_error"))
		{
			de = NULL;
			errno = EIO;
		}
		if (de == NULL)
			break;
		if (!mig_spool_name_ok(de->d_name))
			continue;
		if (*nnames == max)
		{
			max *= 2;
			*names = repalloc(*names, sizeof(MigSpoolListed) * max);
		}
		(*names)[*nnames].name = pstrdup(de->d_name);
		(*names)[*nnames].regular = de->d_type == DT_REG;
		(*nnames)++;
	}
	return errno == 0;
}

/*
 * Directory d could not be listed (errno): why, in its problem, the tree's
 * problem for the worker and a WARNING; its rows are kept.
 */
static void
listing_failed(MigSpoolTree *tree, int d, MigSpoolTreeDir *td)
{
	int			save = errno;
	char	   *path = mig_spool_path(tree->spool, mig_spool_dirs[d]);

	errno = save;
	td->problem = psprintf("could not read the directory: %m");
	errno = save;
	tree->problem = psprintf("could not read spool directory \"%s\": %m", path);
	errno = save;
	ereport(WARNING,
			(errcode_for_file_access(),
			 errmsg("could not read spool directory \"%s\": %m", path),
			 errdetail("Nothing under it is read; the rows of its files in spool_files are kept.")));
	close_listing(tree);
	mig_spool_release_fd(&td->fd);
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(((const MigSpoolListed *) a)->name, ((const MigSpoolListed *) b)->name);
}

/*
 * The spool files of directory d, sorted (in the tree's context), through
 * its descriptor: true if it was listed.  One that does not exist, cannot
 * be entered or cannot be read is not listed (no names), and its rows are
 * to be left alone; the last two say why (see mig_spool_tree_fd).
 */
bool
mig_spool_tree_list(MigSpoolTree *tree, int d, MigSpoolListed **names, int *nnames)
{
	MigSpoolTreeDir *td = &tree->dirs[MIG_SPOOL_ID_DIR(d)];
	MemoryContext old;
	bool		listed;

	*names = NULL;
	*nnames = 0;
	if (mig_spool_tree_fd(tree, MIG_SPOOL_ID_DIR(d)) < 0)
		return false;

	old = MemoryContextSwitchTo(tree->cxt);
	listed = open_listing(tree, td) && read_listing(tree, names, nnames);
	if (listed)
	{
		close_listing(tree);
		qsort(*names, *nnames, sizeof(MigSpoolListed), cmp_names);
	}
	else
	{
		listing_failed(tree, d, td);
		*nnames = 0;
	}
	MemoryContextSwitchTo(old);
	return listed;
}
