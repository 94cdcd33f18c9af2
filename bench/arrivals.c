/*
 * bench/arrivals.c: bench/ingest's observer of arrivals (its measure 2).
 *
 * Connected to the bench database, it LISTENs on mig_spool, which the spool
 * worker NOTIFYs in each batch it commits, and at each notification reads
 * the ids of the commands in [LO, HI] it has not seen yet.  Each id is
 * printed with the time the notification was received (CLOCK_REALTIME, in
 * seconds): the moment the row became visible to another session, late by
 * the notification's delivery alone.  A row committed while the read of an
 * earlier notification runs is given that earlier time, early by at most
 * the read's duration.  A poll every 100 ms stands in for a notification
 * lost to nothing in particular.
 *
 *   arrivals CONNINFO LO HI SECONDS READY_FILE > seen.txt
 *
 * READY_FILE is created once LISTEN is in place.  It ends when every id of
 * [LO, HI] was seen or after SECONDS, and exits 1 if some were not.
 *
 * Built by bench/ingest with the cluster's pg_config (libpq).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>

#include "libpq-fe.h"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
die(PGconn *conn, const char *what)
{
	fprintf(stderr, "arrivals: %s: %s", what, conn ? PQerrorMessage(conn) : "\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	PGconn	   *conn;
	PGresult   *res;
	long long	lo,
				hi,
				next;
	long long	nseen = 0;
	char	   *seen;
	double		deadline;
	FILE	   *ready;

	if (argc != 6)
	{
		fprintf(stderr, "usage: arrivals CONNINFO LO HI SECONDS READY_FILE\n");
		return 2;
	}
	lo = atoll(argv[2]);
	hi = atoll(argv[3]);
	deadline = now_s() + atof(argv[4]);
	if (hi < lo || (seen = calloc(hi - lo + 1, 1)) == NULL)
		die(NULL, "bad range");
	next = lo;

	conn = PQconnectdb(argv[1]);
	if (PQstatus(conn) != CONNECTION_OK)
		die(conn, "connect");
	res = PQexec(conn, "LISTEN mig_spool");
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		die(conn, "LISTEN");
	PQclear(res);
	if ((ready = fopen(argv[5], "w")) == NULL)
		die(NULL, "ready file");
	fclose(ready);

	while (nseen < hi - lo + 1 && now_s() < deadline)
	{
		int			sock = PQsocket(conn);
		fd_set		fds;
		struct timeval tv = {0, 100000};
		PGnotify   *n;
		double		at;
		char		lo_s[32],
					hi_s[32];
		const char *params[2] = {lo_s, hi_s};

		FD_ZERO(&fds);
		FD_SET(sock, &fds);
		if (select(sock + 1, &fds, NULL, NULL, &tv) < 0 && errno != EINTR)
			die(NULL, "select");
		at = now_s();
		if (!PQconsumeInput(conn))
			die(conn, "read");
		while ((n = PQnotifies(conn)) != NULL)
			PQfreemem(n);

		/* the ids not seen yet, from the lowest of them */
		snprintf(lo_s, sizeof(lo_s), "%lld", next);
		snprintf(hi_s, sizeof(hi_s), "%lld", hi);
		res = PQexecParams(conn, "SELECT id FROM mig.commands WHERE id >= $1::numeric "
						   "AND id <= $2::numeric", 2, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
			die(conn, "read the commands");
		for (int i = 0; i < PQntuples(res); i++)
		{
			long long	id = atoll(PQgetvalue(res, i, 0));

			if (id < lo || id > hi || seen[id - lo])
				continue;
			seen[id - lo] = 1;
			nseen++;
			printf("%lld %.6f\n", id, at);
		}
		PQclear(res);
		while (next <= hi && seen[next - lo])
			next++;
	}
	PQfinish(conn);
	return nseen == hi - lo + 1 ? 0 : 1;
}
