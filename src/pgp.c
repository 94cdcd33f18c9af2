/*-------------------------------------------------------------------------
 *
 * pgp.c
 *	  OpenPGP for mig: gpgme used the way a server must use it, and the
 *	  keyring of the investigators.
 *
 *	  Each backend that needs gpg gets a private directory, 0700, under the
 *	  data directory's temporary-files area (base/pgsql_tmp, which the
 *	  postmaster empties at start and after a crash), removed by an
 *	  on_proc_exit callback.  Every GNUPGHOME made in it carries a gpg.conf
 *	  that keeps gpg offline (no dirmngr, no keyserver, no key retrieval)
 *	  and forbids starting gpg-agent; the web of trust is off.
 *
 *	  Which signatures and keys gpg is given is read from their packets
 *	  (armor.c): that is what lets one gpg run verify every signature of an
 *	  action (the packets are concatenated into one detached signature and
 *	  gpg's answers are mapped back by issuer and time) and what maps each
 *	  imported key to its investigator.  Every cryptographic decision is
 *	  gpg's.
 *
 *	  SQL: mig_key_fingerprint(), mig_verify_signature().  C (pgp.h): the
 *	  investigators' keyring, loaded and used by verify.c.
 *
 *	  Not here: ASCII armor, MIG's one-line form and OpenPGP packets
 *	  (armor.c), the canonical string (canon.c), actions, the record of
 *	  verified signatures and the staleness triggers (verify.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <gpgme.h>

#include "common/sha2.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "mig.h"
#include "armor.h"
#include "pgp.h"
#include "utils.h"

/* counters for mig_pgp_stats() */
MigPgpCounters mig_pgp_counters;

/* a signature given to gpg, and gpg's answer */
typedef struct MigGpgSig
{
	MigPgpSig	sig;			/* parsed (armor.h); ok turns false when gpg
								 * cannot read it */
	bool		checked;		/* gpg answered */
	gpgme_error_t status;
	char		gpg_fpr[41];	/* signing key fpr (or key id) gpg reported */
	int64		sig_expires;	/* 0 = never */
	bool		wrong_key_usage;
} MigGpgSig;

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

/* gpgconf --kill all for a home where an agent may have started */
static void
kill_agents(const char *home)
{
	char	   *socket = psprintf("%s/S.gpg-agent", home);
	struct stat st;

	if (lstat(socket, &st) == 0)
	{
		char	   *cmd = psprintf("gpgconf --homedir '%s' --kill all >/dev/null 2>&1", home);

		if (system(cmd) != 0)
			elog(LOG, "could not stop the gpg-agent of \"%s\"", home);
		pfree(cmd);
	}
	pfree(socket);
}

static void release_context(const char *home);

static void
remove_home(const char *home)
{
	release_context(home);
	kill_agents(home);
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
			kill_agents(path);
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
static char *
make_home(const char *what)
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
static int
gpg_import(const char *home, const char *keys, size_t len)
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
static void
verify_signatures(const char *home, const char *data, size_t datalen,
				  MigGpgSig **sigs, int n)
{
	MigGpgSig **batch = palloc(sizeof(MigGpgSig *) * Max(n, 1));

	for (;;)
	{
		int			nb = 0;

		for (int i = 0; i < n; i++)
		{
			bool		dup = false;

			if (sigs[i]->checked || sigs[i]->sig.keyid[0] == '\0' || sigs[i]->sig.created < 0)
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

/* ----------------------------------------------------------------
 * mig_key_fingerprint(publickey text) -> text
 * ----------------------------------------------------------------
 */

/* what gpg reads from a key text, without importing it */
typedef struct KeyText
{
	int			nkeys;			/* keys listed; 0 if gpg could not read them */
	char		fpr[41];		/* the first one's primary fingerprint */
	bool		secret;			/* a secret key among them */
	bool		invalid;		/* one gpg would not import (no valid
								 * self-signed user ID) */
} KeyText;

/*
 * What gpg reads from a key text, listed without importing it: how many
 * keys, the first one's primary fingerprint, and whether any is secret or
 * one gpg would not import.
 */
static void
read_key_text(const char *home, const char *text, size_t len, KeyText *out)
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

/* the home in which keys are only listed, never imported */
static char *scratch_home = NULL;

/*
 * The primary fingerprint of the one public key in text, as gpg reads it:
 * a key gpg would not import (no valid self-signature, say) is refused.
 * Raises 22023 for anything but exactly one usable public key.
 */
char *
mig_pgp_key_fingerprint(const char *text, size_t len)
{
	char		parsed[41];
	KeyText		listed;

	mig_pgp_parse_public_key(text, len, parsed);

	if (scratch_home == NULL || gnupg_base_owner != MyProcPid)
		scratch_home = make_home("scratch");
	read_key_text(scratch_home, text, len, &listed);

	if (listed.nkeys != 1 || strcmp(listed.fpr, parsed) != 0 || listed.secret ||
		listed.invalid)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("gpg cannot use the OpenPGP public key %s", parsed),
				 errdetail("gpg reads no usable key from the text: a valid self-signed user ID is required."),
				 errhint("Export the key again with \"gpg --armor --export %s\".", parsed)));
	return pstrdup(parsed);
}

PG_FUNCTION_INFO_V1(mig_key_fingerprint);
Datum
mig_key_fingerprint(PG_FUNCTION_ARGS)
{
	text	   *key = PG_GETARG_TEXT_PP(0);

	PG_RETURN_TEXT_P(cstring_to_text(mig_pgp_key_fingerprint(VARDATA_ANY(key),
															 VARSIZE_ANY_EXHDR(key))));
}

/* ----------------------------------------------------------------
 * mig_verify_signature(data text, signature text, publickey text) -> text
 *
 * The key is imported into a keyring of its own, kept while the next call
 * brings the same key text (a query over many signatures of one key runs
 * gpg once per signature only).
 * ----------------------------------------------------------------
 */

static char *adhoc_home = NULL;
static uint8 adhoc_digest[PG_SHA256_DIGEST_LENGTH];
static char adhoc_fpr[41];

PG_FUNCTION_INFO_V1(mig_verify_signature);
Datum
mig_verify_signature(PG_FUNCTION_ARGS)
{
	text	   *data = PG_GETARG_TEXT_PP(0);
	text	   *sigtext = PG_GETARG_TEXT_PP(1);
	text	   *key = PG_GETARG_TEXT_PP(2);
	const char *keytext = VARDATA_ANY(key);
	size_t		keylen = VARSIZE_ANY_EXHDR(key);
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
	MigGpgSig	sig;
	MigGpgSig  *sigp = &sig;

	memset(&sig, 0, sizeof(sig));
	mig_pgp_parse_signature(VARDATA_ANY(sigtext), VARSIZE_ANY_EXHDR(sigtext), &sig.sig);
	if (!sig.sig.ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("text is not an OpenPGP signature"),
				 errdetail("%s", mig_pgp_sentence(sig.sig.error)),
				 errhint("Give one detached signature, ASCII-armored or in MIG's one-line form.")));

	mig_pgp_key_digest(keytext, keylen, digest);
	if (adhoc_home == NULL || gnupg_base_owner != MyProcPid ||
		memcmp(digest, adhoc_digest, sizeof(digest)) != 0)
	{
		char		fpr[41];
		char	   *old = (gnupg_base_owner == MyProcPid) ? adhoc_home : NULL;

		mig_pgp_parse_public_key(keytext, keylen, fpr);
		adhoc_home = NULL;
		if (old != NULL)
		{
			remove_home(old);
			pfree(old);
		}
		adhoc_home = make_home("key");
		if (gpg_import(adhoc_home, keytext, keylen) < 1)
		{
			remove_home(adhoc_home);
			adhoc_home = NULL;
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("gpg cannot use the OpenPGP public key %s", fpr),
					 errdetail("gpg reads no usable key from the text: a valid self-signed user ID is required.")));
		}
		mig_pgp_counters.keys_imported++;
		memcpy(adhoc_digest, digest, sizeof(digest));
		strlcpy(adhoc_fpr, fpr, sizeof(adhoc_fpr));
	}

	verify_signatures(adhoc_home, VARDATA_ANY(data), VARSIZE_ANY_EXHDR(data), &sigp, 1);
	if (sig.sig.ok && sig.checked && gpgme_err_code(sig.status) == GPG_ERR_NO_ERROR &&
		!sig.wrong_key_usage)
		PG_RETURN_TEXT_P(cstring_to_text(adhoc_fpr));
	PG_RETURN_NULL();
}

/* ----------------------------------------------------------------
 * The investigators' keyring (pgp.h)
 *
 * One GNUPGHOME of this backend holds the public keys of the investigators
 * as of a keyring epoch (verify.c reads the epoch and the keys in one
 * snapshot).  A key is imported once; when its row changes, or goes, the
 * old key is deleted from the keyring first, so that gpg never merges an
 * old copy (a removed subkey, a revocation since undone) into the new one.
 * A keyring left half-changed by an error is rebuilt from scratch.
 * ----------------------------------------------------------------
 */

typedef struct KeySub
{
	char		fpr[41];
	int64		expires;		/* 0 = never */
} KeySub;

typedef struct KeyEntry
{
	Datum		investigator_id;	/* numeric */
	char		fpr[41];		/* primary */
	uint8		digest[PG_SHA256_DIGEST_LENGTH];	/* of the key text */
	int			nsubs;			/* subs[0] is the primary key */
	KeySub	   *subs;
	gpgme_key_t gkey;			/* gpg's listing: what deleting it takes */
	int			src;			/* its index in the keys being loaded */
} KeyEntry;

static struct
{
	MemoryContext cxt;			/* the entries */
	bool		valid;			/* keys match epoch */
	bool		dirty;			/* an error left the home unknown */
	Oid			relid;			/* the keyring table the epoch is of */
	int64		epoch;
	char	   *home;
	int			nkeys;
	KeyEntry   *keys;
} keyring;

/*
 * A load in progress, in the memory context that becomes the keyring's when
 * it commits.  entries has room for every key given; entries[0..n-1] are the
 * keys kept so far, and every gpgme key the load holds is in exactly one of
 * them (the other slots are zero).  It is not a local of mig_keyring_load,
 * so that its PG_CATCH reads what the steps wrote, not a clobbered copy.
 */
typedef struct KeyringLoad
{
	MemoryContext cxt;
	KeyEntry   *entries;
	int			n;
	bool		fresh;			/* the keys go into a new, empty home */
} KeyringLoad;

bool
mig_keyring_current(Oid relid, int64 epoch)
{
	return keyring.valid && keyring.relid == relid && keyring.epoch == epoch &&
		gnupg_base_owner == MyProcPid;
}

static KeyEntry *
find_entry(KeyEntry *keys, int nkeys, const char *fpr, const uint8 *digest)
{
	for (int i = 0; i < nkeys; i++)
		if (strcmp(keys[i].fpr, fpr) == 0 &&
			(digest == NULL || memcmp(keys[i].digest, digest, PG_SHA256_DIGEST_LENGTH) == 0))
			return &keys[i];
	return NULL;
}

static void
free_entries(KeyEntry *keys, int nkeys)
{
	for (int i = 0; i < nkeys; i++)
		if (keys[i].gkey != NULL)
		{
			gpgme_key_unref(keys[i].gkey);
			keys[i].gkey = NULL;
		}
}

/* fill subs and gkey of the entries without gkey, as gpg lists them */
static void
list_keys(const char *home, KeyEntry *keys, int nkeys, MemoryContext cxt)
{
	const char **patterns = palloc0(sizeof(char *) * (nkeys + 1));
	int			npatterns = 0;
	gpgme_key_t volatile key = NULL;

	for (int i = 0; i < nkeys; i++)
		if (keys[i].gkey == NULL)
			patterns[npatterns++] = keys[i].fpr;
	if (npatterns == 0)
		return;

	PG_TRY();
	{
		gpgme_ctx_t ctx = home_context(home);
		gpgme_error_t err;
		gpgme_key_t k;

		mig_pgp_counters.gpg_runs++;
		err = gpgme_op_keylist_ext_start(ctx, patterns, 0, 0);
		while (!err)
		{
			KeyEntry   *e;

			err = gpgme_op_keylist_next(ctx, &k);
			if (err)
				break;
			key = k;
			e = key->subkeys ? find_entry(keys, nkeys, key->subkeys->fpr, NULL) : NULL;
			if (e != NULL && e->gkey == NULL)
			{
				int			n = 0;

				for (gpgme_subkey_t s = key->subkeys; s; s = s->next)
					n++;
				e->subs = MemoryContextAllocZero(cxt, sizeof(KeySub) * n);
				for (gpgme_subkey_t s = key->subkeys; s; s = s->next)
				{
					if (s->fpr == NULL)
						continue;
					strlcpy(e->subs[e->nsubs].fpr, s->fpr, sizeof(e->subs[0].fpr));
					e->subs[e->nsubs].expires = s->expires;
					e->nsubs++;
				}
				e->gkey = key;
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
}

/* delete the key of e from home (one gpg run; no agent needed) */
static void
delete_key(const char *home, KeyEntry *e)
{
	gpgme_ctx_t ctx = home_context(home);
	gpgme_error_t err;

	mig_pgp_counters.gpg_runs++;
	err = gpgme_op_delete_ext(ctx, e->gkey, GPGME_DELETE_FORCE);
	if (err)
	{
		release_context(home);
		gpg_error_report(err, "delete a key");
	}
}

/*
 * The primary fingerprint of an investigator's key into fpr.  An unusable
 * key is reported and left out, not fatal to all: false, with a warning.
 */
static bool
key_fingerprint(const MigInvestigatorKey *key, char *fpr)
{
	MemoryContext cxt = CurrentMemoryContext;
	volatile bool ok = true;	/* set in PG_CATCH, read after it */

	PG_TRY();
	{
		mig_pgp_parse_public_key(key->publickey, strlen(key->publickey), fpr);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		ereport(WARNING,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the public key of investigator %s is not used",
						mig_numeric_text(key->id)),
				 errdetail("%s", edata->message)));
		FreeErrorData(edata);
		ok = false;
	}
	PG_END_TRY();
	return ok;
}

/* collect: the usable keys, one per fingerprint, with their digests */
static void
collect_keys(KeyringLoad *load, int nkeys, const MigInvestigatorKey *keys)
{
	for (int i = 0; i < nkeys; i++)
	{
		KeyEntry   *e = &load->entries[load->n];
		const char *text = keys[i].publickey;
		Size		idlen;

		if (!key_fingerprint(&keys[i], e->fpr))
		{
			memset(e, 0, sizeof(KeyEntry));
			continue;
		}
		if (find_entry(load->entries, load->n, e->fpr, NULL) != NULL)
		{
			ereport(WARNING,
					(errcode(ERRCODE_UNIQUE_VIOLATION),
					 errmsg("the public key of investigator %s is not used",
							mig_numeric_text(keys[i].id)),
					 errdetail("Another investigator has the key %s.", e->fpr)));
			memset(e, 0, sizeof(KeyEntry));
			continue;
		}
		idlen = VARSIZE_ANY(DatumGetPointer(keys[i].id));
		e->investigator_id = PointerGetDatum(MemoryContextAlloc(load->cxt, idlen));
		memcpy(DatumGetPointer(e->investigator_id), DatumGetPointer(keys[i].id), idlen);
		mig_pgp_key_digest(text, strlen(text), e->digest);
		e->src = i;
		load->n++;
	}
}

/*
 * prune: keys whose row changed or went are deleted from the keyring; if
 * that cannot be done, or an earlier load failed half-way, the keyring is
 * made again in a fresh home.  From here until the commit, an error leaves
 * the home dirty.
 */
static void
prune_keyring(KeyringLoad *load)
{
	bool		fresh = (keyring.home == NULL || keyring.dirty);

	keyring.dirty = true;
	for (int i = 0; !fresh && i < keyring.nkeys; i++)
	{
		KeyEntry   *prev = &keyring.keys[i];

		if (find_entry(load->entries, load->n, prev->fpr, prev->digest) != NULL)
			continue;
		if (prev->gkey == NULL)
			fresh = true;
		else
			delete_key(keyring.home, prev);
	}
	if (fresh)
	{
		if (keyring.home != NULL)
		{
			remove_home(keyring.home);
			pfree(keyring.home);
			keyring.home = NULL;
		}
		keyring.home = make_home("keyring");
	}
	load->fresh = fresh;
}

/*
 * import: unchanged keys stay (their entries take the listing over from the
 * keyring's), the others are imported in one gpg run, then listed.
 */
static void
import_keys(KeyringLoad *load, const MigInvestigatorKey *keys)
{
	StringInfoData import;
	int			nimport = 0;

	initStringInfo(&import);
	for (int i = 0; i < load->n; i++)
	{
		KeyEntry   *e = &load->entries[i];
		KeyEntry   *prev = load->fresh ? NULL :
		find_entry(keyring.keys, keyring.nkeys, e->fpr, e->digest);

		if (prev != NULL && prev->gkey != NULL)
		{
			e->nsubs = prev->nsubs;
			e->subs = MemoryContextAlloc(load->cxt, sizeof(KeySub) * Max(prev->nsubs, 1));
			memcpy(e->subs, prev->subs, sizeof(KeySub) * prev->nsubs);
			/* the gpgme key changes hands: one owner at any time */
			e->gkey = prev->gkey;
			prev->gkey = NULL;
			continue;
		}
		appendStringInfoString(&import, keys[e->src].publickey);
		appendStringInfoChar(&import, '\n');
		nimport++;
	}
	if (nimport > 0)
	{
		gpg_import(keyring.home, import.data, import.len);
		mig_pgp_counters.keys_imported += nimport;
		list_keys(keyring.home, load->entries, load->n, load->cxt);
	}
	pfree(import.data);
}

/*
 * Keys gpg would not take are reported and left out.  The kept entries
 * move down; a slot left behind is zeroed, so that no gpgme key is ever in
 * two entries.
 */
static void
drop_unlisted(KeyringLoad *load)
{
	int			kept = 0;

	for (int i = 0; i < load->n; i++)
	{
		KeyEntry   *e = &load->entries[i];

		if (e->gkey == NULL)
		{
			ereport(WARNING,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the public key of investigator %s is not used",
							mig_numeric_text(e->investigator_id)),
					 errdetail("gpg did not import the key %s.", e->fpr)));
			memset(e, 0, sizeof(KeyEntry));
			continue;
		}
		if (kept != i)
		{
			load->entries[kept] = *e;
			memset(e, 0, sizeof(KeyEntry));
		}
		kept++;
	}
	load->n = kept;
}

/* commit: the new entries replace the keyring's, whose keys go back */
static void
commit_keyring(KeyringLoad *load, Oid relid, int64 epoch)
{
	if (keyring.cxt != NULL)
	{
		free_entries(keyring.keys, keyring.nkeys);
		MemoryContextDelete(keyring.cxt);
	}
	keyring.cxt = load->cxt;
	keyring.keys = load->entries;
	keyring.nkeys = load->n;
	keyring.relid = relid;
	keyring.epoch = epoch;
	keyring.dirty = false;
	keyring.valid = true;
}

void
mig_keyring_load(Oid relid, int64 epoch, int nkeys, const MigInvestigatorKey *keys)
{
	MemoryContext cxt;
	KeyringLoad *load;

	/* until this load has finished, the keyring is unusable */
	keyring.valid = false;
	if (gnupg_base_owner != MyProcPid)
	{
		/* a process forked from one that had a keyring: start afresh */
		memset(&keyring, 0, sizeof(keyring));
	}

	cxt = AllocSetContextCreate(TopMemoryContext, "mig keyring", ALLOCSET_SMALL_SIZES);
	load = MemoryContextAllocZero(cxt, sizeof(KeyringLoad));
	load->cxt = cxt;
	load->entries = MemoryContextAllocZero(cxt, sizeof(KeyEntry) * Max(nkeys, 1));

	/* cxt and load are set before PG_TRY and never after: no volatile */
	PG_TRY();
	{
		collect_keys(load, nkeys, keys);
		prune_keyring(load);
		import_keys(load, keys);
		drop_unlisted(load);
	}
	PG_CATCH();
	{
		free_entries(load->entries, load->n);
		MemoryContextDelete(cxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	commit_keyring(load, relid, epoch);
	pfree(load);
}

/* the key, and the subkey, with fingerprint (or key id) fpr */
static KeyEntry *
find_signer(const char *fpr, KeySub **sub)
{
	size_t		fl = strlen(fpr);

	for (int i = 0; i < keyring.nkeys; i++)
	{
		KeyEntry   *e = &keyring.keys[i];

		for (int j = 0; j < e->nsubs; j++)
		{
			bool		match = (fl == 40) ?
			strcmp(e->subs[j].fpr, fpr) == 0 :
			(fl >= 16 && strcmp(e->subs[j].fpr + 24, fpr + fl - 16) == 0);

			if (match)
			{
				if (sub)
					*sub = &e->subs[j];
				return e;
			}
		}
	}
	return NULL;
}

static int
cmp_packets(const void *a, const void *b)
{
	const MigGpgSig *x = *(MigGpgSig *const *) a;
	const MigGpgSig *y = *(MigGpgSig *const *) b;

	if (x->sig.packet.len != y->sig.packet.len)
		return x->sig.packet.len < y->sig.packet.len ? -1 : 1;
	if (x->sig.packet.len > 0)
	{
		int			c = memcmp(x->sig.packet.data, y->sig.packet.data, x->sig.packet.len);

		if (c != 0)
			return c;
	}
	return x < y ? -1 : (x > y);
}

/*
 * Keep one of each signature packet in run[0..n-1]: the same signature
 * given twice (or in both of MIG's encodings) is one signature, verified
 * once, whatever the list repeats.  dup_of[i] becomes the index in sigs of
 * the one that is verified for sigs[i].  Returns the new n.
 */
static int
drop_duplicates(MigGpgSig **run, int n, MigGpgSig *sigs, int *dup_of)
{
	int			m = 0;

	qsort(run, n, sizeof(MigGpgSig *), cmp_packets);
	for (int i = 0; i < n; i++)
	{
		if (m > 0 && run[m - 1]->sig.packet.len == run[i]->sig.packet.len &&
			memcmp(run[m - 1]->sig.packet.data, run[i]->sig.packet.data, run[i]->sig.packet.len) == 0)
		{
			dup_of[run[i] - sigs] = run[m - 1] - sigs;
			continue;
		}
		run[m++] = run[i];
	}
	return m;
}

void
mig_keyring_verify(const char *data, size_t datalen, int nsigs,
				   const char *const *sigtexts, MigSignatureCheck *checks)
{
	MigGpgSig  *sigs = palloc0(sizeof(MigGpgSig) * Max(nsigs, 1));
	MigGpgSig **run = palloc(sizeof(MigGpgSig *) * Max(nsigs, 1));
	int		   *dup_of = palloc(sizeof(int) * Max(nsigs, 1));
	int			nrun = 0;

	Assert(keyring.valid);
	for (int i = 0; i < nsigs; i++)
	{
		MigSignatureCheck *c = &checks[i];

		memset(c, 0, sizeof(*c));
		dup_of[i] = i;
		if (sigtexts[i] == NULL)
		{
			sigs[i].sig.ok = false;
			sigs[i].sig.error = "the entry is not a string";
			continue;
		}
		mig_pgp_parse_signature(sigtexts[i], strlen(sigtexts[i]), &sigs[i].sig);
		if (!sigs[i].sig.ok)
			continue;
		/* a key id no investigator has needs no gpg run */
		if (sigs[i].sig.keyid[0] != '\0' && find_signer(sigs[i].sig.keyid, NULL) == NULL)
			continue;
		run[nrun++] = &sigs[i];
	}

	nrun = drop_duplicates(run, nrun, sigs, dup_of);
	verify_signatures(keyring.home, data, datalen, run, nrun);

	for (int i = 0; i < nsigs; i++)
	{
		MigGpgSig  *s = &sigs[dup_of[i]];
		MigSignatureCheck *c = &checks[i];
		KeySub	   *sub = NULL;
		KeyEntry   *e = NULL;

		c->valid_until = DT_NOEND;
		if (!s->sig.ok)
		{
			c->reason = psprintf("malformed signature: %s", s->sig.error);
			continue;
		}
		if (s->checked)
			e = find_signer(s->gpg_fpr, &sub);
		else if (s->sig.keyid[0] != '\0')
			e = find_signer(s->sig.keyid, &sub);
		if (e != NULL)
		{
			c->has_investigator = true;
			c->investigator_id = e->investigator_id;
			c->fingerprint = pstrdup(e->fpr);
		}
		if (!s->checked || e == NULL)
		{
			c->reason = pstrdup("no investigator has this key");
			c->has_investigator = false;
			c->fingerprint = NULL;
			continue;
		}
		switch (gpgme_err_code(s->status))
		{
			case GPG_ERR_NO_ERROR:
				if (s->wrong_key_usage)
				{
					c->reason = pstrdup("bad signature: the key may not sign");
					break;
				}
				c->valid = true;
				/* valid until the key, the subkey or the signature expires */
				{
					int64		until = 0;
					int64		cand[3] = {e->subs[0].expires, sub->expires, s->sig_expires};

					for (int k = 0; k < 3; k++)
						if (cand[k] > 0 && (until == 0 || cand[k] < until))
							until = cand[k];
					if (until > 0)
						c->valid_until = time_t_to_timestamptz((pg_time_t) until);
				}
				break;
			case GPG_ERR_BAD_SIGNATURE:
				c->reason = pstrdup("bad signature");
				break;
			case GPG_ERR_NO_PUBKEY:
				c->reason = pstrdup("no investigator has this key");
				c->has_investigator = false;
				c->fingerprint = NULL;
				break;
			case GPG_ERR_KEY_EXPIRED:
				c->reason = pstrdup("key expired");
				break;
			case GPG_ERR_CERT_REVOKED:
				c->reason = pstrdup("key revoked");
				break;
			case GPG_ERR_SIG_EXPIRED:
				c->reason = pstrdup("signature expired");
				break;
			default:
				c->reason = psprintf("bad signature: %s", gpgme_strerror(s->status));
				break;
		}
	}
	for (int i = 0; i < nsigs; i++)
		if (sigs[i].sig.packet.data)
			pfree(sigs[i].sig.packet.data);
	pfree(sigs);
	pfree(run);
	pfree(dup_of);
}
