/*
 * fuzz_spoolfile: the spool file reader (src/spoolfile.c on jsondoc.c,
 * gotime.c and lifecycle.c), mig_spool_parse_file() as the spool sync calls
 * it on a file's bytes once read.
 *
 * Each input is parsed in each of the spool's eight directories: as an
 * action file (action/new, inflight, done, invalid) and as a command file
 * (command/ready, inflight, returned, done), since the directory decides
 * the kind, whether an action without an id waits, and the effective
 * status.  Checks besides the sanitizers':
 *
 *	- no ERROR at all: a bad file must fail alone, an ERROR would stop the
 *	  whole pass (any ERROR escapes mig_fuzz_run() and is reported here);
 *	- the outcome is OUT_NONE (accepted), OUT_DEFERRED (an action without
 *	  an id in action/new only) or OUT_FAILED, and there is an error
 *	  sentence iff the file is not accepted;
 *	- an accepted action has a positive id that Go's float64 holds exactly
 *	  (the file's objectid), a name and a target, valid times, a verbatim
 *	  description, threat, operations and pgpsignatures that are JSON of
 *	  their type, and an effective status: the directory's or the one
 *	  written, never lower in the lifecycle than the directory's;
 *	- an accepted command has a positive id, an action with a positive id,
 *	  an agent with an id or a queue location, a status as above (any
 *	  directory without one of its own needs it written), results that are
 *	  a JSON array;
 *	- every string a column gets is valid UTF-8 within its length;
 *	- the directories agree: the same kind parses the same way wherever
 *	  the directory plays no part (see cross_check()).
 */
#include "postgres.h"

#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "lifecycle.h"
#include "shim.h"
#include "spoolfile.h"

/* Go's float64 ids are exact integers up to 2^53 (jsondoc.c) */
#define MAX_EXACT_ID INT64CONST(9007199254740992)

/* what one parse gave, kept past the arena's reset */
typedef struct Result
{
	SpoolOutcome outcome;
	int64		objectid;
	bool		has_status;
	char		status[1100];	/* effective: 256 characters of UTF-8 at most */
	char		error[1100];
} Result;

typedef struct Run
{
	int			dir;
	Result	   *result;
} Run;

static void
copy_out(char *dst, size_t cap, const char *src)
{
	if (strlen(src) >= cap)
		mig_fuzz_fail("a string of %zu bytes, more than the harness expects", strlen(src));
	strcpy(dst, src);
}

/* the effective status st in dir, for a file that wrote written (or NULL) */
static void
check_status(int dir, const char *st, const char *written)
{
	const MigSpoolDir *d = &mig_spool_lifecycle[dir];

	if (st == NULL)
		mig_fuzz_fail("%s: accepted without a status", d->path);
	mig_fuzz_check_string("the status", st, 256, true);
	if (d->status == NULL && written == NULL)
		mig_fuzz_fail("%s: a status out of nothing", d->path);
	if (written != NULL && strcmp(st, written) != 0 &&
		(d->status == NULL || strcmp(st, d->status) != 0))
		mig_fuzz_fail("%s: status \"%s\" is neither the directory's nor the file's", d->path, st);
	if (written == NULL && strcmp(st, d->status) != 0)
		mig_fuzz_fail("%s: status \"%s\" of a file without one is not the directory's",
					  d->path, st);
	if (d->status != NULL && mig_status_rank(d->kind, st) < mig_status_rank(d->kind, d->status))
		mig_fuzz_fail("%s: status \"%s\" is below the directory's \"%s\"", d->path, st, d->status);
}

static void
check_id(const char *what, int64 id)
{
	if (id < 1 || id > MAX_EXACT_ID)
		mig_fuzz_fail("%s " INT64_FORMAT " is not a positive exact id", what, id);
}

/* the fields every accepted action has, in a file or a command */
static void
check_action(ParsedAction *pa, size_t size)
{
	check_id("the action's id", pa->id);
	mig_fuzz_check_string("the action's name", pa->name, 2048, false);
	mig_fuzz_check_string("the action's target", pa->target, 2048, false);
	if (pa->description)
		mig_fuzz_check_json("the description", pa->description, '{', size);
	if (pa->threat)
		mig_fuzz_check_json("the threat", pa->threat, '{', size);
	if (pa->operations)
		mig_fuzz_check_json("the operations", pa->operations, '[', size);
	if (pa->pgpsignatures)
		mig_fuzz_check_json("the signatures", pa->pgpsignatures, '[', size);
	mig_fuzz_check_time("validfrom", pa->validfrom);
	mig_fuzz_check_time("expireafter", pa->expireafter);
	if (pa->has_starttime)
		mig_fuzz_check_time("starttime", pa->starttime);
	if (pa->has_finishtime)
		mig_fuzz_check_time("finishtime", pa->finishtime);
	if (pa->has_lastupdatetime)
		mig_fuzz_check_time("lastupdatetime", pa->lastupdatetime);
	if (pa->status != NULL)
		mig_fuzz_check_string("the action's status", pa->status, 256, true);
	if (pa->syntaxversion < 0 || (!pa->has_syntaxversion && pa->syntaxversion != 0))
		mig_fuzz_fail("syntaxversion %d", pa->syntaxversion);
}

static void
check_file(SpoolFile *f, size_t size, Result *r)
{
	const MigSpoolDir *d = &mig_spool_lifecycle[f->dir];

	switch (f->outcome)
	{
		case OUT_NONE:
			if (f->error != NULL)
				mig_fuzz_fail("%s: accepted with an error: %s", d->path, f->error);
			if ((f->action != NULL) == (f->command != NULL) ||
				(f->action != NULL) != (d->kind == MIG_KIND_ACTION))
				mig_fuzz_fail("%s: accepted as the wrong kind", d->path);
			if (f->action != NULL)
			{
				check_action(f->action, size);
				if (f->objectid != f->action->id)
					mig_fuzz_fail("%s: objectid is not the action's id", d->path);
				check_status(f->dir, f->action_status, f->action->status);
				r->has_status = true;
				copy_out(r->status, sizeof(r->status), f->action_status);
			}
			else
			{
				ParsedCommand *pc = f->command;

				check_id("the command's id", pc->id);
				if (f->objectid != pc->id)
					mig_fuzz_fail("%s: objectid is not the command's id", d->path);
				check_action(&pc->action, size);
				if (pc->agent_id < 0 || pc->agent_id > MAX_EXACT_ID)
					mig_fuzz_fail("agent id " INT64_FORMAT, pc->agent_id);
				mig_fuzz_check_string("the agent's name", pc->agent_name, 2048, false);
				mig_fuzz_check_string("the agent's queueloc", pc->agent_queueloc, 2048,
									  pc->agent_id == 0);
				/* the status written is the one of the directory without */
				check_status(f->dir, pc->status,
							 d->status == NULL || strcmp(pc->status, d->status) != 0 ?
							 pc->status : NULL);
				if (pc->results)
					mig_fuzz_check_json("the results", pc->results, '[', size);
				mig_fuzz_check_time("the command's starttime", pc->starttime);
				if (pc->has_finishtime)
					mig_fuzz_check_time("the command's finishtime", pc->finishtime);
				r->has_status = true;
				copy_out(r->status, sizeof(r->status), pc->status);
			}
			break;
		case OUT_DEFERRED:
			if (f->dir != MIG_DIR_ACTION_NEW)
				mig_fuzz_fail("%s: deferred, which only action/new does", d->path);
			if (f->action != NULL || f->command != NULL || f->objectid != 0)
				mig_fuzz_fail("%s: deferred with what it holds", d->path);
			if (f->error == NULL || f->error[0] == '\0')
				mig_fuzz_fail("%s: deferred without saying why", d->path);
			break;
		case OUT_FAILED:
			if (f->error == NULL || f->error[0] == '\0')
				mig_fuzz_fail("%s: failed without an error", d->path);
			if (f->action != NULL || f->command != NULL)
				mig_fuzz_fail("%s: failed, yet holds an %s", d->path,
							  f->action ? "action" : "command");
			mig_fuzz_check_string("the error", f->error, 0, true);
			break;
		default:
			mig_fuzz_fail("%s: outcome %d from the parser", d->path, (int) f->outcome);
	}
	r->outcome = f->outcome;
	r->objectid = f->objectid;
	if (f->error != NULL)
		copy_out(r->error, sizeof(r->error), f->error);
}

static void
one(const uint8 *data, size_t size, void *arg)
{
	Run		   *run = arg;
	char	   *buf = palloc(size + 1);
	SpoolFile  *f = palloc0(sizeof(SpoolFile));

	/* as read_file() leaves it: NUL-terminated at len */
	memcpy(buf, data, size);
	buf[size] = '\0';
	f->dir = run->dir;
	f->name = "fuzz.json";
	f->path = "fuzz.json";
	f->outcome = OUT_NONE;
	mig_spool_parse_file(f, buf, size);
	check_file(f, size, run->result);
}

/*
 * What the directories of one kind must agree on.  Actions: the file
 * parses the same in inflight/, done/ and invalid/; in new/, where an
 * action without an id waits, too but for that.  Commands: the same in
 * ready/ and inflight/, which give a status; returned/ and done/, which do
 * not, accept a subset of those, with the status written, which the
 * others keep or raise to their own.
 */
static void
cross_check(Result *r)
{
	Result	   *ai = &r[MIG_DIR_ACTION_INFLIGHT];
	Result	   *an = &r[MIG_DIR_ACTION_NEW];
	Result	   *cr = &r[MIG_DIR_COMMAND_READY];
	Result	   *ci = &r[MIG_DIR_COMMAND_INFLIGHT];
	Result	   *cret = &r[MIG_DIR_COMMAND_RETURNED];
	Result	   *cd = &r[MIG_DIR_COMMAND_DONE];

	for (int d = MIG_DIR_ACTION_DONE; d <= MIG_DIR_ACTION_INVALID; d++)
		if (r[d].outcome != ai->outcome || r[d].objectid != ai->objectid ||
			strcmp(r[d].error, ai->error) != 0)
			mig_fuzz_fail("%s and action/inflight disagree: %s | %s",
						  mig_spool_dirs[d], r[d].error, ai->error);
	if (an->outcome == OUT_DEFERRED ? ai->outcome != OUT_FAILED || ai->objectid != 0 :
		an->outcome != ai->outcome || strcmp(an->error, ai->error) != 0)
		mig_fuzz_fail("action/new and action/inflight disagree: %s | %s", an->error, ai->error);

	if (cr->outcome != ci->outcome || strcmp(cr->error, ci->error) != 0)
		mig_fuzz_fail("command/ready and command/inflight disagree: %s | %s",
					  cr->error, ci->error);
	if (cret->outcome != cd->outcome)
		mig_fuzz_fail("command/returned and command/done disagree: %s | %s",
					  cret->error, cd->error);
	if (cret->outcome == OUT_NONE)
	{
		int			sent = mig_status_rank(MIG_KIND_COMMAND, "sent");

		if (cr->outcome != OUT_NONE || strcmp(cret->status, cd->status) != 0 ||
			strcmp(cr->status, cret->status) != 0)
			mig_fuzz_fail("command/ready does not keep the status \"%s\" written", cret->status);
		if (strcmp(ci->status, mig_status_rank(MIG_KIND_COMMAND, cret->status) >= sent ?
				   cret->status : "sent") != 0)
			mig_fuzz_fail("command/inflight makes \"%s\" of \"%s\"", ci->status, cret->status);
	}
	else if (cr->outcome == OUT_NONE && strstr(cret->error, "\"status\"") == NULL)
		mig_fuzz_fail("command/returned refuses what command/ready takes: %s", cret->error);
}

int
LLVMFuzzerTestOneInput(const uint8 *data, size_t size)
{
	Result		results[MIG_SPOOL_NDIRS];

	memset(results, 0, sizeof(results));
	for (int d = 0; d < MIG_SPOOL_NDIRS; d++)
	{
		Run			run = {d, &results[d]};
		MigFuzzError e;

		if (!mig_fuzz_run(one, data, size, &run, &e))
			mig_fuzz_fail("%s: ERROR %s, which stops the pass: %s", mig_spool_dirs[d],
						  unpack_sql_state(e.sqlerrcode), e.message);
	}
	cross_check(results);

	/* MIG_FUZZ_VERBOSE=1 fuzz_spoolfile FILE...: what each directory made of it */
	if (getenv("MIG_FUZZ_VERBOSE") != NULL)
	{
		static const char *const outcomes[] = {
			[OUT_NONE] = "accepted", [OUT_DEFERRED] = "deferred", [OUT_FAILED] = "failed"
		};

		for (int d = 0; d < MIG_SPOOL_NDIRS; d++)
			fprintf(stderr, "  %-17s %s %s\n", mig_spool_dirs[d], outcomes[results[d].outcome],
					results[d].outcome == OUT_NONE ? results[d].status : results[d].error);
	}
	return 0;
}
