/*-------------------------------------------------------------------------
 *
 * heartbeat.c
 *	  An agent's heartbeat or agent JSON (Go's mig.Agent) read into a
 *	  Heartbeat: the fields the agents table keeps,
 *	  validated.  Text in, struct out, nothing else: no SPI, no clock, no
 *	  ERROR for a bad heartbeat (the caller raises it), so that the fuzzer
 *	  (test/fuzz/fuzz_heartbeat.c) runs the very parser the server does.
 *
 *	  Not here: finding or numbering the agent and writing its rows
 *	  (agent.c), reading JSON (jsondoc.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "heartbeat.h"
#include "jsondoc.h"

/*
 * Parse text[0..len-1] (valid UTF-8, NUL-terminated at len) into *h; false
 * with *error set to a sentence if it is not a valid heartbeat.  Without
 * a heartbeat time, has_heartbeattime is false and the caller decides.
 */
bool
mig_heartbeat_parse(char *text, int len, Heartbeat *h, char **error)
{
	MigJsonDoc *doc;
	bool		unset;
	bool		present;
	int			env;
	const char *tskey;

	memset(h, 0, sizeof(*h));
	doc = mig_json_parse(text, len, error);
	if (doc == NULL)
		return false;
	if (!mig_json_get_id(doc, 0, "", "id", &h->id, error) ||
		!mig_json_get_string(doc, 0, "", "name", 2048, true, &h->name, error) ||
		!mig_json_get_string(doc, 0, "", "queueloc", 2048, true, &h->queueloc, error) ||
		!mig_json_get_string(doc, 0, "", "version", 2048, false, &h->version, error) ||
		!mig_json_get_int(doc, 0, "", "pid", 0, PG_INT32_MAX, &present, &h->pid, error) ||
		!mig_json_get_string(doc, 0, "", "status", 256, false, &h->status, error) ||
		!mig_json_get_string(doc, 0, "", "mode", 0, false, &h->mode, error) ||
		!mig_json_get_string(doc, 0, "", "loadername", 0, false, &h->loadername, error) ||
		!mig_json_get_time(doc, 0, "", "starttime", false, &h->starttime, &unset, error) ||
		!mig_json_get_time(doc, 0, "", "destructiontime", false, &h->destructiontime, &unset, error))
		return false;
	h->has_destructiontime = !unset;
	if (h->name[0] == '\0')
	{
		*error = pstrdup("field \"name\" is empty");
		return false;
	}
	if (h->queueloc[0] == '\0')
	{
		*error = pstrdup("field \"queueloc\" is empty");
		return false;
	}

	/* Go's mig.Agent says heartbeatts; the table says heartbeattime */
	tskey = mig_json_has(doc, 0, "heartbeatts") ? "heartbeatts" : "heartbeattime";
	if (!mig_json_get_time(doc, 0, "", tskey, false, &h->heartbeattime, &unset, error))
		return false;
	h->has_heartbeattime = !unset;
	if (!mig_json_get_time(doc, 0, "", "refreshts", false, &h->refreshtime, &unset, error))
		return false;
	h->has_refreshtime = !unset;
	if (!mig_json_get_bool(doc, 0, "", "authorized", &h->has_authorized, &h->authorized, error) ||
		!mig_json_get_object(doc, 0, "", "environment", &env, error) ||
		!mig_json_get_verbatim(doc, 0, "", "environment", MIG_JSON_OBJECT, false,
							   &h->environment, error) ||
		!mig_json_get_verbatim(doc, 0, "", "tags", 0, false, &h->tags, error))
		return false;

	/* older agents say "os" at the top, newer ones in the environment */
	if (!mig_json_get_string(doc, 0, "", "os", 2048, false, &h->os, error))
		return false;
	if (h->os == NULL && env >= 0 &&
		!mig_json_get_string(doc, env, "environment.", "os", 2048, false, &h->os, error))
		return false;
	if (h->os == NULL)
		h->os = "";
	if (h->version == NULL)
		h->version = "";
	return true;
}
