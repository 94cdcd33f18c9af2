/*-------------------------------------------------------------------------
 *
 * gnupg.c
 *	  gpg in the server: gpgme used the way a backend must use it.
 *
 *	  Each backend that needs gpg gets a private directory, 0700, under the
 *	  data directory's temporary-files area (base/pgsql_tmp, which the
 *	  postmaster empties at start and after a crash), removed by an
 *	  on_proc_exit callback.  Every GNUPGHOME made in it carries a gpg.conf
 *	  that keeps gpg offline (no dirmngr, no keyserver, no key retrieval)
 *	  and forbids starting gpg-agent; the web of trust is off.
 *
 *	  The operations: import keys, read a key text without importing it,
 *	  list and delete keys, and verify a set of signatures in as few gpg
 *	  runs as gpg's answers allow (the packets of signatures by distinct
 *	  keys go in one run as one detached signature; the answers are mapped
 *	  back by the issuer and creation time armor.c reads).  Each gpg run
 *	  counts in mig_pgp_counters.
 *
 *	  Every gpgme object is released on every path: what an operation holds
 *	  across a call that may raise an error is in a volatile local that its
 *	  PG_CATCH releases, and nothing else crosses PG_TRY; the results are
 *	  written to memory of the caller's or read from the context after it.
 *
 *	  Not here: armor and packets (armor.c), which keys a home holds and
 *	  what an answer means for an investigator (keyring.c), the SQL
 *	  functions (pgp.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include <gpgme.h>

#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "utils/memutils.h"

#include "armor.h"
#include "gnupg.h"

/* counters for mig_pgp_stats() */
MigPgpCounters mig_pgp_counters;

/* ----------------------------------------------------------------
 * Private GNUPGHOMEs
 * ----------------------------------------------------------------
 */

/* $PGDATA/base/pgsql_tmp/pgsql_tmp.mig_gnupg.<pid>, made on first use */
static char *gnupg_base = NULL;
static pid_t gnupg_base_owner = 0;
static int	gnupg_homes = 0;

static const char gpg_conf[] =
"# Written by the mig extension for one PostgreSQL backend: offline, no\n"
"# agent, validity from owner trust alone (never the web of trust, and\n"
"# mig uses no validity at all).  Removed when the backend exits.\n"
"no-autostart\n"
"disable-dirmngr\n"
"no-auto-key-retrieve\n"
"auto-key-locate local\n"
"trust-model direct\n"
"no-greeting\n"
"no-permission-warning\n"
"lock-never\n"
"no-random-seed-file\n"
"batch\n"
"no-tty\n";

/* GnuPG 2.4 reads common.conf; an empty one keeps keyboxd off */
static const char common_conf[] =
"# Written by the mig extension: no keyboxd.\n";

/*
 * Stop the gpg-agent of a home, if one started there (gpg.conf forbids it,
 * but a key operation gpg needed an agent for, or someone, may start one):
 * the Assuan command KILLAGENT on its socket, the way gpgconf --kill does,
 * with no shell and no other process.  Bounded: a second for the agent to
 * greet and to answer.
 */
static void
kill_agent(const char *home)
{
	struct sockaddr_un addr;
	struct timeval timeout = {1, 0};
	char		buf[256];
	int			fd;
	bool		ok = false;

	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	if (snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/S.gpg-agent", home) >=
		(int) sizeof(addr.sun_path))
		return;					/* not a socket gpg could have made */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)) == 0 &&
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout)) == 0 &&
		connect(fd, (struct sockaddr *) &addr, sizeof(addr)) == 0)
	{
		ssize_t		n = read(fd, buf, sizeof(buf) - 1);	/* "OK Pleased to meet you" */
		static const char cmd[] = "KILLAGENT\n";

		if (n >= 2 && strncmp(buf, "OK", 2) == 0 &&
			write(fd, cmd, sizeof(cmd) - 1) == (ssize_t) (sizeof(cmd) - 1))
		{
			n = read(fd, buf, sizeof(buf) - 1);
			ok = n >= 2 && strncmp(buf, "OK", 2) == 0;
		}
		if (!ok)
			elog(LOG, "could not stop the gpg-agent of \"%s\"", home);
	}
	close(fd);
}

static void release_context(const char *home);

void
mig_gnupg_remove_home(const char *home)
{
	release_context(home);
	kill_agent(home);
	if (!rmtree(home, true))
		elog(LOG, "could not remove GnuPG home \"%s\"", home);
}

/*
 * At backend exit: stop any agent and remove every home of this backend.
 * Nothing else would: the temporary-files sweep runs only at postmaster
 * start and after a crash.
 */
static void
gnupg_cleanup(int code, Datum arg)
{
	DIR		   *dir;
	struct dirent *de;

	if (gnupg_base == NULL || gnupg_base_owner != MyProcPid)
		return;
	release_context(NULL);
	dir = opendir(gnupg_base);
	if (dir != NULL)
	{
		while ((de = readdir(dir)) != NULL)
		{
			char		path[MAXPGPATH];

			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", gnupg_base, de->d_name);
			kill_agent(path);
		}
		closedir(dir);
	}
	if (!rmtree(gnupg_base, true))
		elog(LOG, "could not remove GnuPG directory \"%s\"", gnupg_base);
	gnupg_base = NULL;
}

static void
write_file(const char *path, const char *contents)
{
	int			fd = OpenTransientFilePerm(path, O_WRONLY | O_CREAT | O_EXCL | PG_BINARY,
										   S_IRUSR | S_IWUSR);
	size_t		len = strlen(contents);

	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create file \"%s\": %m", path)));
	if (write(fd, contents, len) != (ssize_t) len)
	{
		int			save_errno = errno;

		CloseTransientFile(fd);
		errno = save_errno ? save_errno : ENOSPC;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not write file \"%s\": %m", path)));
	}
	if (CloseTransientFile(fd) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not close file \"%s\": %m", path)));
}

static void
make_private_dir(const char *path)
{
	if (mkdir(path, S_IRWXU) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create directory \"%s\": %m", path)));
	/* whatever the umask */
	if (chmod(path, S_IRWXU) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not change permissions of \"%s\": %m", path)));
}

/*
 * gpgme's library initialization, once per process.  gpgme_check_version
 * must come before any other call.
 */
static void
gpgme_init(void)
{
	static bool done = false;
	gpgme_error_t err;

	if (done)
		return;
	if (gpgme_check_version(NULL) == NULL)
		elog(ERROR, "could not initialize gpgme");
	err = gpgme_engine_check_version(GPGME_PROTOCOL_OpenPGP);
	if (err)
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("gpg is not usable: %s", gpgme_strerror(err)),
				 errhint("Install GnuPG 2 (gpg) on the database server.")));
	done = true;
}

/* A new, empty GNUPGHOME of this backend */
char *
mig_gnupg_make_home(const char *what)
{
	char	   *home;
	MemoryContext old;

	gpgme_init();
	if (gnupg_base == NULL || gnupg_base_owner != MyProcPid)
	{
		char	   *tmpdir = psprintf("%s/base/%s", DataDir, PG_TEMP_FILES_DIR);
		char	   *base = psprintf("%s/%s.mig_gnupg.%d", tmpdir, PG_TEMP_FILE_PREFIX,
									MyProcPid);
		struct stat st;

		if (MakePGDirectory(tmpdir) != 0 && errno != EEXIST)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not create directory \"%s\": %m", tmpdir)));
		/* left by an earlier process with our pid that crashed */
		if (lstat(base, &st) == 0)
			rmtree(base, true);
		make_private_dir(base);
		gnupg_base = MemoryContextStrdup(TopMemoryContext, base);
		if (gnupg_base_owner == 0)
			on_proc_exit(gnupg_cleanup, (Datum) 0);
		gnupg_base_owner = MyProcPid;
		pfree(base);
		pfree(tmpdir);
	}
	old = MemoryContextSwitchTo(TopMemoryContext);
	home = psprintf("%s/%s.%d", gnupg_base, what, ++gnupg_homes);
	MemoryContextSwitchTo(old);
	make_private_dir(home);
	write_file(psprintf("%s/gpg.conf", home), gpg_conf);
	write_file(psprintf("%s/common.conf", home), common_conf);
	return home;
}

/* are the homes made so far this process's own? */
bool
mig_gnupg_homes_valid(void)
{
	return gnupg_base_owner == MyProcPid;
}

const char *
mig_gnupg_directory(void)
{
	return gnupg_base_owner == MyProcPid ? gnupg_base : NULL;
}

/* ----------------------------------------------------------------
 * gpgme operations.  Each one is one gpg run; every gpgme data object is
 * released on every path.  Contexts are kept, one per home: giving a
 * context its home makes gpgme run "gpg --version", which would double the
 * cost of every operation.  A context goes with its home, at exit, and
 * after an error in the middle of an operation.
 * ----------------------------------------------------------------
 */

static void
gpg_error_report(gpgme_error_t err, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
			 errmsg("could not %s with gpg: %s", what, gpgme_strerror(err))));
}

static gpgme_ctx_t
new_context(const char *home)
{
	gpgme_ctx_t ctx;
	gpgme_error_t err;

	gpgme_init();
	err = gpgme_new(&ctx);
	if (err)
		gpg_error_report(err, "create a context");
	err = gpgme_set_protocol(ctx, GPGME_PROTOCOL_OpenPGP);
	if (!err)
		err = gpgme_ctx_set_engine_info(ctx, GPGME_PROTOCOL_OpenPGP, NULL, home);
	if (!err)
		err = gpgme_set_keylist_mode(ctx, GPGME_KEYLIST_MODE_LOCAL);
	if (err)
	{
		gpgme_release(ctx);
		gpg_error_report(err, "set up a context");
	}
	gpgme_set_offline(ctx, 1);
	gpgme_set_armor(ctx, 0);
	return ctx;
}

#define MAX_CONTEXTS 4

static struct
{
	char	   *home;
	gpgme_ctx_t ctx;
}			contexts[MAX_CONTEXTS];

/* the context of home, made on first use */
static gpgme_ctx_t
home_context(const char *home)
{
	int			free_slot = -1;

	for (int i = 0; i < MAX_CONTEXTS; i++)
	{
		if (contexts[i].home != NULL && strcmp(contexts[i].home, home) == 0)
			return contexts[i].ctx;
		if (contexts[i].home == NULL && free_slot < 0)
			free_slot = i;
	}
	if (free_slot < 0)
		elog(ERROR, "too many GnuPG homes in use");
	contexts[free_slot].ctx = new_context(home);
	contexts[free_slot].home = MemoryContextStrdup(TopMemoryContext, home);
	return contexts[free_slot].ctx;
}

/* release the context of home, if there is one */
static void
release_context(const char *home)
{
	for (int i = 0; i < MAX_CONTEXTS; i++)
	{
		if (contexts[i].home == NULL ||
			(home != NULL && strcmp(contexts[i].home, home) != 0))
			continue;
		gpgme_release(contexts[i].ctx);
		pfree(contexts[i].home);
		contexts[i].home = NULL;
		contexts[i].ctx = NULL;
	}
}


/* import key texts into home; returns how many keys gpg took */
int
mig_gpg_import(const char *home, const char *keys, size_t len)
{
	gpgme_ctx_t ctx = home_context(home);
	gpgme_data_t volatile data = NULL;
	gpgme_import_result_t res;

	PG_TRY();
	{
		gpgme_data_t d;
		gpgme_error_t err;

		err = gpgme_data_new_from_mem(&d, keys, len, 0);
		if (err)
			gpg_error_report(err, "read keys");
		data = d;
		mig_pgp_counters.gpg_runs++;
		err = gpgme_op_import(ctx, data);
		if (err)
			gpg_error_report(err, "import keys");
	}
	PG_CATCH();
	{
		if (data != NULL)
			gpgme_data_release(data);
		release_context(home);
		PG_RE_THROW();
	}
	PG_END_TRY();
	gpgme_data_release(data);
	/* the result is the context's until its next operation */
	res = gpgme_op_import_result(ctx);
	return res != NULL ? (int) (res->imported + res->unchanged) : 0;
}

/*
 * What gpg reads from a key text, listed without importing it: how many
 * keys, the first one's primary fingerprint, and whether any is secret or
 * one gpg would not import.
 */
void
mig_gpg_read_key_text(const char *home, const char *text, size_t len,
					  MigGpgKeyText *out)
{
	gpgme_data_t volatile data = NULL;
	gpgme_key_t volatile key = NULL;

	memset(out, 0, sizeof(*out));
	PG_TRY();
	{
		gpgme_ctx_t ctx = home_context(home);
		gpgme_data_t d;
		gpgme_key_t k;
		gpgme_error_t err;

		err = gpgme_data_new_from_mem(&d, text, len, 0);
		if (err)
			gpg_error_report(err, "read a key");
		data = d;
		mig_pgp_counters.gpg_runs++;
		err = gpgme_op_keylist_from_data_start(ctx, data, 0);
		while (!err)
		{
			err = gpgme_op_keylist_next(ctx, &k);
			if (err)
				break;
			key = k;
			if (++out->nkeys == 1 && key->subkeys != NULL && key->subkeys->fpr != NULL)
				strlcpy(out->fpr, key->subkeys->fpr, sizeof(out->fpr));
			out->secret |= key->secret;
			/* what gpg would not import: no valid self-signed user ID */
			out->invalid |= key->invalid || key->uids == NULL;
			gpgme_key_unref(key);
			key = NULL;
		}
		if (gpgme_err_code(err) != GPG_ERR_EOF)
			out->nkeys = 0;
		gpgme_op_keylist_end(ctx);
	}
	PG_CATCH();
	{
		if (key != NULL)
			gpgme_key_unref(key);
		if (data != NULL)
			gpgme_data_release(data);
		release_context(home);
		PG_RE_THROW();
	}
	PG_END_TRY();
	gpgme_data_release(data);
}

/* the key of keys[] whose fingerprint in fprs[] is fpr */
static MigGpgKey *
wanted_key(int n, const char *const *fprs, MigGpgKey *const *keys, const char *fpr)
{
	if (fpr == NULL)
		return NULL;
	for (int i = 0; i < n; i++)
		if (strcmp(fprs[i], fpr) == 0)
			return keys[i];
	return NULL;
}

/* the subkeys of a listed key (the primary first) into k, in cxt */
static void
take_subkeys(MigGpgKey *k, gpgme_key_t key, MemoryContext cxt)
{
	int			n = 0;

	for (gpgme_subkey_t s = key->subkeys; s; s = s->next)
		n++;
	k->subs = MemoryContextAllocZero(cxt, sizeof(MigGpgSubkey) * n);
	k->nsubs = 0;
	for (gpgme_subkey_t s = key->subkeys; s; s = s->next)
	{
		if (s->fpr == NULL)
			continue;
		strlcpy(k->subs[k->nsubs].fpr, s->fpr, sizeof(k->subs[0].fpr));
		k->subs[k->nsubs].expires = s->expires;
		k->nsubs++;
	}
}

/*
 * List the keys fprs[0..n-1] of home into *keys[i].  A listed key belongs
 * to keys[i] from the moment its handle is stored there; until then, to
 * the volatile key that PG_CATCH gives back.
 */
void
mig_gpg_list_keys(const char *home, int n, const char *const *fprs,
				  MigGpgKey *const *keys, MemoryContext cxt)
{
	const char **patterns;
	gpgme_key_t volatile key = NULL;

	if (n == 0)
		return;
	patterns = palloc(sizeof(char *) * (n + 1));
	memcpy(patterns, fprs, sizeof(char *) * n);
	patterns[n] = NULL;

	PG_TRY();
	{
		gpgme_ctx_t ctx = home_context(home);
		gpgme_error_t err;
		gpgme_key_t k;

		mig_pgp_counters.gpg_runs++;
		err = gpgme_op_keylist_ext_start(ctx, patterns, 0, 0);
		while (!err)
		{
			MigGpgKey  *want;

			err = gpgme_op_keylist_next(ctx, &k);
			if (err)
				break;
			key = k;
			want = key->subkeys ? wanted_key(n, fprs, keys, key->subkeys->fpr) : NULL;
			if (want != NULL && want->handle == NULL)
			{
				take_subkeys(want, key, cxt);
				want->handle = key;
			}
			else
				gpgme_key_unref(key);
			key = NULL;
		}
		if (gpgme_err_code(err) != GPG_ERR_EOF)
			gpg_error_report(err, "list keys");
		gpgme_op_keylist_end(ctx);
	}
	PG_CATCH();
	{
		if (key != NULL)
			gpgme_key_unref(key);
		release_context(home);
		PG_RE_THROW();
	}
	PG_END_TRY();
	pfree(patterns);
}

/* delete a listed key from home (one gpg run; no agent needed) */
void
mig_gpg_delete_key(const char *home, const MigGpgKey *key)
{
	gpgme_ctx_t ctx = home_context(home);
	gpgme_error_t err;

	mig_pgp_counters.gpg_runs++;
	err = gpgme_op_delete_ext(ctx, key->handle, GPGME_DELETE_FORCE);
	if (err)
	{
		release_context(home);
		gpg_error_report(err, "delete a key");
	}
}

/* a listed key's handle, given back to gpgme once */
void
mig_gpg_release_key(MigGpgKey *key)
{
	if (key->handle != NULL)
	{
		gpgme_key_unref(key->handle);
		key->handle = NULL;
	}
}

/* ----------------------------------------------------------------
 * Verifying signatures
 * ----------------------------------------------------------------
 */

/* is gpg's answer s about sig? */
static bool
answer_matches(gpgme_signature_t s, const MigGpgSig *sig, bool alone)
{
	size_t		fl = s->fpr ? strlen(s->fpr) : 0;

	if (sig->checked)
		return false;
	if (alone)
		return true;
	/* BADSIG carries no time */
	return fl >= 16 && sig->sig.keyid[0] != '\0' &&
		pg_strcasecmp(s->fpr + fl - 16, sig->sig.keyid) == 0 &&
		(s->timestamp == 0 || sig->sig.created < 0 ||
		 (int64) s->timestamp == sig->sig.created);
}

/* give each of gpg's answers in res to the signature of sigs it is about */
static void
take_answers(gpgme_verify_result_t res, MigGpgSig **sigs, int n)
{
	int			nres = 0;

	for (gpgme_signature_t s = res ? res->signatures : NULL; s; s = s->next)
		nres++;
	for (gpgme_signature_t s = res ? res->signatures : NULL; s; s = s->next)
	{
		for (int i = 0; i < n; i++)
		{
			MigGpgSig  *sig = sigs[i];

			if (!answer_matches(s, sig, n == 1 && nres == 1))
				continue;
			sig->checked = true;
			sig->status = s->status;
			strlcpy(sig->gpg_fpr, s->fpr ? s->fpr : "", sizeof(sig->gpg_fpr));
			for (char *c = sig->gpg_fpr; *c; c++)
				*c = pg_ascii_toupper((unsigned char) *c);
			sig->sig_expires = s->exp_timestamp;
			sig->wrong_key_usage = s->wrong_key_usage;
			break;
		}
	}
}

/*
 * One gpg run over the concatenated packets of sigs[0..n-1] (none checked
 * yet): gpg treats them as one detached signature with n signature packets.
 * Each answer is given to the signature with its issuer key id (the caller
 * never puts two signatures of one key id in a run) and creation time.  gpg
 * stops at the first bad signature, so some may get no answer: returns how
 * many did.
 */
static int
gpg_verify(const char *home, const char *data, size_t datalen,
		   MigGpgSig **sigs, int n)
{
	gpgme_data_t volatile sigdata = NULL;
	gpgme_data_t volatile text = NULL;
	StringInfoData packets;
	int			answered = 0;

	initStringInfo(&packets);
	for (int i = 0; i < n; i++)
	{
		Assert(!sigs[i]->checked);
		appendBinaryStringInfo(&packets, sigs[i]->sig.packet.data, sigs[i]->sig.packet.len);
	}

	PG_TRY();
	{
		gpgme_ctx_t ctx = home_context(home);
		gpgme_data_t d;
		gpgme_error_t err;

		err = gpgme_data_new_from_mem(&d, packets.data, packets.len, 0);
		if (err)
			gpg_error_report(err, "read signatures");
		sigdata = d;
		err = gpgme_data_new_from_mem(&d, data, datalen, 0);
		if (err)
			gpg_error_report(err, "read data");
		text = d;
		mig_pgp_counters.gpg_runs++;
		err = gpgme_op_verify(ctx, sigdata, text, NULL);
		if (!err)
			take_answers(gpgme_op_verify_result(ctx), sigs, n);
	}
	PG_CATCH();
	{
		if (sigdata != NULL)
			gpgme_data_release(sigdata);
		if (text != NULL)
			gpgme_data_release(text);
		release_context(home);
		PG_RE_THROW();
	}
	PG_END_TRY();
	gpgme_data_release(sigdata);
	gpgme_data_release(text);
	pfree(packets.data);
	for (int i = 0; i < n; i++)
		if (sigs[i]->checked)
			answered++;
	return answered;
}

/*
 * Verify the signatures sigs[0..n-1] (all well-formed) over data: as few
 * gpg runs as the answers allow.  Signatures of distinct key ids go in one
 * run; what gets no answer (after a bad signature, or a second signature of
 * the same key) goes in the next; when a run answers nothing, the rest run
 * one by one.  A signature gpg gives no answer for alone is malformed.
 */
void
mig_gpg_verify_signatures(const char *home, const char *data, size_t datalen,
						  MigGpgSig **sigs, int n)
{
	MigGpgSig **batch = palloc(sizeof(MigGpgSig *) * Max(n, 1));

	for (;;)
	{
		int			nb = 0;

		for (int i = 0; i < n; i++)
		{
			bool		dup = false;

			if (sigs[i]->checked || sigs[i]->sig.keyid[0] == '\0' ||
				sigs[i]->sig.created < 0)
				continue;
			for (int j = 0; j < nb && !dup; j++)
				dup = strcmp(batch[j]->sig.keyid, sigs[i]->sig.keyid) == 0;
			if (!dup)
				batch[nb++] = sigs[i];
		}
		if (nb < 2 || gpg_verify(home, data, datalen, batch, nb) == 0)
			break;
	}
	for (int i = 0; i < n; i++)
	{
		if (sigs[i]->checked)
			continue;
		if (gpg_verify(home, data, datalen, &sigs[i], 1) == 0)
		{
			sigs[i]->sig.ok = false;
			sigs[i]->sig.error = "gpg could not read the signature";
		}
	}
	pfree(batch);
}

/* did gpg find sig good, made by a key that may sign? */
bool
mig_gpg_signature_good(const MigGpgSig *sig)
{
	return sig->sig.ok && sig->checked &&
		gpgme_err_code(sig->status) == GPG_ERR_NO_ERROR && !sig->wrong_key_usage;
}
