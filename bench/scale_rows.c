/*
 * bench/scale_rows.c: the rows of bench/scale's database, as COPY text.
 *
 *   scale_rows COMMANDS NOW0 TABLE...
 *
 * Each TABLE (actions, agents or commands) is written to standard output,
 * its rows and then a line "\.".  NOW0 is the moment the database is built
 * as of, in microseconds since 1970-01-01 UTC; the same COMMANDS and NOW0
 * give the same bytes.  The actions' columns are (id, name, target,
 * description, threat, operations, validfrom, expireafter, starttime,
 * finishtime, lastupdatetime, status, pgpsignatures, syntaxversion): their
 * counters are the counter triggers' (or mig_recount()'s); the agents' and
 * the commands' are all of their tables', in order.  Timestamps are written
 * as PostgreSQL writes them with DateStyle ISO in time zone UTC.
 *
 * MIG's production after two years (mig#135): COMMANDS commands, as many
 * agents, 71% of them never targeted.  Over the two years before NOW0:
 *   - COMMANDS / 1000 actions, one after the other, each of 1000 commands,
 *     each finished 10 minutes after it started and expired after an hour;
 *   - COMMANDS agents, one started every 730 days / COMMANDS: an agent
 *     process of one of COMMANDS / 100 endpoints (its queue location), each
 *     restarted every few days; an offline agent was last heard from 3.5 to
 *     10.5 days after it started, at least a day ago; the last 1.3% are
 *     live: online (85%, heard from in the last 4 minutes) or idle (heard
 *     from 30 to 50 minutes ago);
 *   - the agents whose id - 1 modulo 100 is below 29 (29%) are the targeted
 *     ones, in id order; action a's 1000 commands go to 1000 consecutive
 *     targeted agents, the window moving on by (targeted - 1000) / (actions
 *     - 1) from one action to the next, so that each targeted agent gets
 *     about 3.45 commands from actions of the days it ran;
 *   - small results (about 100 bytes a command).
 *
 * The times are PostgreSQL's arithmetic, reproduced: these rows were first
 * generated in SQL, as "start + (i - 1) * (63072000.0 / n) * interval '1
 * second'" and the like, and are the same bytes.  A numeric quotient has
 * the scale numeric division gives it (select_div_scale() in PostgreSQL's
 * numeric.c), rounded half away from zero; a numeric times an interval is
 * the float8 nearest the numeric's decimal text (strtod, as numeric_float8
 * does) times the interval, by interval_mul()'s steps.
 *
 * Built by bench/scale with the system's cc; run by the server, COPY ...
 * FROM PROGRAM.  Not here: loading the rows, the indexes, the counters
 * (bench/scale).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#define USECS_PER_SEC INT64_C(1000000)
#define USECS_PER_DAY (INT64_C(86400) * USECS_PER_SEC)

typedef __int128 int128;

static int64_t scale;			/* the commands, as many agents */
static int64_t now0;			/* microseconds since 1970-01-01 UTC */
static int64_t start;			/* now0 - interval '730 days' */

/* the output, written out by the 64 kB */
static char obuf[1 << 17];
static size_t olen;

static void
flush_out(void)
{
	if (olen > 0 && fwrite(obuf, 1, olen, stdout) != olen)
	{
		perror("scale_rows: write");
		exit(1);
	}
	olen = 0;
}

static void
put(const char *s, size_t n)
{
	memcpy(obuf + olen, s, n);
	olen += n;
}

#define PUTS(s) put((s), sizeof(s) - 1)

static void
put_str(const char *s)
{
	put(s, strlen(s));
}

static void
put_int(int64_t v)
{
	char		b[24];
	int			i = sizeof(b);
	uint64_t	u = v < 0 ? -(uint64_t) v : (uint64_t) v;

	do
	{
		b[--i] = '0' + u % 10;
		u /= 10;
	} while (u);
	if (v < 0)
		b[--i] = '-';
	put(b + i, sizeof(b) - i);
}

/* WIDTH digits of V, zero-padded */
static void
put_pad(int64_t v, int width)
{
	char	   *p = obuf + olen + width;

	olen += width;
	while (width-- > 0)
	{
		*--p = '0' + v % 10;
		v /= 10;
	}
}

/* the end of a row: flushed when the buffer is half full */
static void
end_row(void)
{
	obuf[olen++] = '\n';
	if (olen > sizeof(obuf) / 2)
		flush_out();
}

/*
 * The civil date (proleptic Gregorian) of a day counted from 1970-01-01
 * (Howard Hinnant's days_from_civil, inverted).
 */
static void
civil(int64_t days, int *y, int *m, int *d)
{
	int64_t		z = days + 719468;
	int64_t		era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t		doe = z - era * 146097;
	int64_t		yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t		doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t		mp = (5 * doy + 2) / 153;

	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yoe + era * 400 + (*m <= 2);
}

static int64_t
floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/*
 * A timestamptz as PostgreSQL writes it, DateStyle ISO, time zone UTC:
 * "2024-06-01 12:34:56.789+00", the fraction without its trailing zeros.
 */
static void
put_ts(int64_t us)
{
	int64_t		days = floor_div(us, USECS_PER_DAY);
	int64_t		tod = us - days * USECS_PER_DAY;
	int64_t		secs = tod / USECS_PER_SEC;
	int64_t		fsec = tod % USECS_PER_SEC;
	int			y,
				m,
				d;

	civil(days, &y, &m, &d);
	put_pad(y, 4);
	obuf[olen++] = '-';
	put_pad(m, 2);
	obuf[olen++] = '-';
	put_pad(d, 2);
	obuf[olen++] = ' ';
	put_pad(secs / 3600, 2);
	obuf[olen++] = ':';
	put_pad(secs / 60 % 60, 2);
	obuf[olen++] = ':';
	put_pad(secs % 60, 2);
	if (fsec != 0)
	{
		int			width = 6;

		while (fsec % 10 == 0)
		{
			fsec /= 10;
			width--;
		}
		obuf[olen++] = '.';
		put_pad(fsec, width);
	}
	PUTS("+00");
}

/* a timestamptz field after the first: a tab, then the value */
static void
field_ts(int64_t us)
{
	obuf[olen++] = '\t';
	put_ts(us);
}

/*
 * interval_mul() of PostgreSQL 15 for an interval of DAY days and TIME
 * microseconds and a float8 FACTOR: the days and microseconds of the
 * product, by the same floating-point steps (its month terms, always zero
 * here, left out: they add nothing).
 */
#define TSROUND(j) (rint(((double) (j)) * 1000000.0) / 1000000.0)

static void
interval_mul(int32_t day, int64_t time, double factor, int32_t *rday, int64_t *rtime)
{
	int32_t		rd = (int32_t) (day * factor);
	double		sec_remainder = TSROUND((day * factor - rd) * 86400);

	if (fabs(sec_remainder) >= 86400)
	{
		rd += (int) (sec_remainder / 86400);
		sec_remainder -= (int) (sec_remainder / 86400) * 86400;
	}
	*rday = rd;
	*rtime = (int64_t) rint(time * factor + sec_remainder * USECS_PER_SEC);
}

/* timestamptz + the interval of DAY days and TIME microseconds, in UTC */
static int64_t
ts_plus(int64_t ts, int32_t day, int64_t time)
{
	return ts + day * USECS_PER_DAY + time;
}

/* timestamptz + NUMERIC (its decimal text) * interval '1 second' */
static int64_t
ts_plus_seconds(int64_t ts, const char *numeric)
{
	int32_t		day;
	int64_t		time;

	interval_mul(0, USECS_PER_SEC, strtod(numeric, NULL), &day, &time);
	return ts_plus(ts, day, time);
}

/*
 * 63072000.0 / DIVISOR, numeric: the quotient times 10^*rscale, rounded
 * half away from zero at the scale numeric division picks for it (at least
 * 16 significant digits; NBASE 10000 digits).
 */
static int128
two_years_over(int64_t divisor, int *rscale)
{
	int			weight2 = 0;
	int64_t		first2 = divisor;
	int			qweight;
	int128		num = 63072000;
	int			i;

	while (first2 >= 10000)
	{
		first2 /= 10000;
		weight2++;
	}
	/* 63072000.0: weight 1, first digit 6307, display scale 1 */
	qweight = 1 - weight2;
	if (6307 <= first2)
		qweight--;
	*rscale = 16 - qweight * 4;
	if (*rscale < 1)
		*rscale = 1;
	for (i = 0; i < *rscale; i++)
		num *= 10;
	return (num + divisor / 2) / divisor;
}

/*
 * The decimal text of V / 10^RSCALE (V >= 0, RSCALE <= 36) into BUF,
 * without the trailing zeros of its fraction (the same number, read faster)
 */
static void
decimal_text(char *buf, int128 v, int rscale)
{
	const uint64_t e18 = UINT64_C(1000000000000000000);
	int128		unit = 1;
	int128		frac;
	uint64_t	part[2];
	int			width[2];
	char	   *p = buf;
	int			k;

	for (k = 0; k < rscale; k++)
		unit *= 10;
	frac = v % unit;
	v /= unit;
	/* the fraction in two parts of up to 18 digits: 64-bit arithmetic */
	width[1] = rscale < 18 ? rscale : 18;
	width[0] = rscale - width[1];
	part[0] = (uint64_t) (frac / e18);
	part[1] = (uint64_t) (frac % e18);
	p += sprintf(p, "%llu.", (unsigned long long) v);
	for (k = 0; k < 2; k++)
	{
		char	   *q = p + width[k];

		p = q;
		while (q > p - width[k])
		{
			*--q = '0' + part[k] % 10;
			part[k] /= 10;
		}
	}
	while (p[-1] == '0')
		p--;
	*p = '\0';
}

/*
 * start + (i - 1) * (63072000.0 / n) * interval '1 second': the i-th of n
 * moments over two years; Q and RSCALE from two_years_over(n).
 */
static int64_t
nth_moment(int64_t i, int128 q, int rscale)
{
	char		text[64];

	decimal_text(text, (int128) (i - 1) * q, rscale);
	return ts_plus_seconds(start, text);
}

/*
 * When action A started: start + (a - 1) * (63072000.0 / actions) *
 * interval '1 second' + interval '1 hour'
 */
static int64_t
action_start(int64_t a)
{
	static int	rscale;
	static int128 q;

	if (q == 0)
		q = two_years_over(scale / 1000, &rscale);
	return ts_plus(nth_moment(a, q, rscale), 0, 3600 * USECS_PER_SEC);
}

/* MD5 (RFC 1321) of a short string, as lower-case hex into HEX[33] */
static void
md5_hex(const char *s, char *hex)
{
	static const uint32_t k[64] = {
		0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a,
		0xa8304613, 0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be,
		0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340,
		0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
		0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8,
		0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c,
		0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
		0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
		0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92,
		0xffeff47d, 0x85845dd1, 0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1,
		0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391};
	static const int r[64] = {
		7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
		5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
		4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
		6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21};
	uint32_t	h[4] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
	unsigned char block[64] = {0};
	size_t		len = strlen(s);
	uint32_t	w[16];
	int			i;

	/* a string of up to 55 bytes fits one block with its padding */
	if (len > 55)
	{
		fprintf(stderr, "scale_rows: md5 of a string too long\n");
		exit(1);
	}
	memcpy(block, s, len);
	block[len] = 0x80;
	for (i = 0; i < 8; i++)
		block[56 + i] = (unsigned char) ((uint64_t) len * 8 >> (8 * i));
	for (i = 0; i < 16; i++)
		w[i] = block[4 * i] | block[4 * i + 1] << 8 |
			block[4 * i + 2] << 16 | (uint32_t) block[4 * i + 3] << 24;
	{
		uint32_t	a = h[0],
					b = h[1],
					c = h[2],
					d = h[3];

		for (i = 0; i < 64; i++)
		{
			uint32_t	f;
			int			g;
			uint32_t	t;

			if (i < 16)
				f = (b & c) | (~b & d), g = i;
			else if (i < 32)
				f = (d & b) | (~d & c), g = (5 * i + 1) % 16;
			else if (i < 48)
				f = b ^ c ^ d, g = (3 * i + 5) % 16;
			else
				f = c ^ (b | ~d), g = (7 * i) % 16;
			t = a + f + k[i] + w[g];
			a = d;
			d = c;
			c = b;
			b = b + (t << r[i] | t >> (32 - r[i]));
		}
		h[0] += a;
		h[1] += b;
		h[2] += c;
		h[3] += d;
	}
	for (i = 0; i < 16; i++)
		sprintf(hex + 2 * i, "%02x", (h[i / 4] >> (8 * (i % 4))) & 0xff);
}

static void
actions(void)
{
	int64_t		a;

	for (a = 1; a <= scale / 1000; a++)
	{
		int64_t		t = action_start(a);
		char		text[24];
		char		hex[33];
		int			i;

		put_int(a);
		PUTS("\taction ");
		put_int(a);
		PUTS("\tstatus='online' AND mode='daemon'"
			 "\t{\"author\":\"Alice Investigator\",\"email\":\"alice@example.net\",\"revision\":1}"
			 "\t{\"ref\":\"IR-");
		put_int(a);
		PUTS("\",\"level\":\"alert\",\"family\":\"backdoor\",\"type\":\"sshd\"}"
			 "\t[{\"module\":\"file\",\"parameters\":{\"searches\":{\"s1\":{\"paths\":[\"/usr/sbin\",\"/etc/ssh\"],"
			 "\"sha256\":[\"");
		for (i = 0; i < 2; i++)
		{
			snprintf(text, sizeof(text), "%lld", (long long) (a + i));
			md5_hex(text, hex);
			put(hex, 32);
		}
		PUTS("\"],\"options\":{\"maxdepth\":3}}}}}]\t");
		put_ts(t);
		field_ts(ts_plus(t, 0, 3600 * USECS_PER_SEC));
		field_ts(t);
		field_ts(ts_plus(t, 0, 600 * USECS_PER_SEC));
		field_ts(ts_plus(t, 0, 600 * USECS_PER_SEC));
		PUTS("\tcompleted\t[\"wsBcBAABCAAQBQJnAAAAAAkQ");
		for (i = 0; i < 80; i++)
			PUTS("Aa0");
		PUTS("=Xy1Z\"]\t2");
		end_row();
	}
}

static void
agents(void)
{
	int64_t		endpoints = scale / 100;
	int64_t		live = scale * 13 / 1000;
	int64_t		day_ago = ts_plus(now0, -1, 0);
	int			rscale;
	int128		q = two_years_over(scale, &rscale);
	int32_t		up_day[1000];	/* (3.5 + 7 * h) * interval '1 day' by h * 1000 */
	int64_t		up_time[1000];
	int64_t		g;
	int			k;

	for (k = 0; k < 1000; k++)
	{
		char		text[32];

		snprintf(text, sizeof(text), "%d.%03d", (3500 + 7 * k) / 1000, (3500 + 7 * k) % 1000);
		interval_mul(1, 0, strtod(text, NULL), &up_day[k], &up_time[k]);
	}
	for (g = 1; g <= scale; g++)
	{
		int64_t		e = g % endpoints;
		const char *os = e % 25 < 2 ? "windows" : e % 25 < 5 ? "darwin" : "linux";
		int64_t		st = nth_moment(g, q, rscale);
		int			h = g * 7919 % 1000;	/* h, in thousandths */
		int64_t		heartbeat;
		int			y,
					m,
					d;

		if (g <= scale - live)
		{
			heartbeat = ts_plus(st, up_day[h], up_time[h]);
			if (heartbeat > day_ago)
				heartbeat = day_ago;
			if (heartbeat < st)
				heartbeat = st;
		}
		else if (h < 850)
			heartbeat = now0 - g % 240 * USECS_PER_SEC;
		else
			heartbeat = now0 - 1800 * USECS_PER_SEC - g % 1200 * USECS_PER_SEC;

		put_int(g);
		PUTS("\thost");
		put_int(e);
		PUTS(".example.net\t");
		put_str(os);
		PUTS(".host");
		put_int(e);
		PUTS(".example.net\t");
		put_str(os);
		PUTS("\t20");
		civil(floor_div(st, USECS_PER_DAY), &y, &m, &d);
		put_pad(y % 100, 2);
		put_pad(m, 2);
		PUTS("01-0.a1b2c3d4.prod\t");
		put_int(1000 + g % 30000);
		field_ts(st);
		PUTS("\t\\N\t");
		put_ts(heartbeat);
		obuf[olen++] = '\t';
		put_str(g <= scale - live ? "offline" : h < 850 ? "online" : "idle");
		obuf[olen++] = '\t';
		put_str(e % 20 == 0 ? "checkin" : "daemon");
		field_ts(st);
		PUTS("\t{\"init\":\"systemd\",\"ident\":\"");
		put_str(os[0] == 'l' ? "Debian GNU/Linux 12 (bookworm)" :
				os[0] == 'd' ? "macOS 14.5" : "Windows 10 Enterprise");
		PUTS("\",\"os\":\"");
		put_str(os);
		PUTS("\",\"arch\":\"amd64\",\"isproxied\":false,\"addresses\":[\"10.");
		put_int((e >> 16) & 255);
		obuf[olen++] = '.';
		put_int((e >> 8) & 255);
		obuf[olen++] = '.';
		put_int(e & 255);
		PUTS("/16\"],\"publicip\":\"198.51.100.");
		put_int(e % 256);
		PUTS("\"}\t{\"operator\":\"IT\",\"team\":\"ops");
		put_int(e % 10);
		PUTS("\"}\t\\N\t\\N");
		end_row();
	}
}

static void
commands(void)
{
	int64_t		n_actions = scale / 1000;
	int64_t		targeted = scale * 29 / 100;
	int64_t		a;

	for (a = 1; a <= n_actions; a++)
	{
		int64_t		t0 = action_start(a);
		int64_t		first = (a - 1) * (targeted - 1000) / (n_actions - 1);
		int64_t		i;

		for (i = 0; i < 1000; i++)
		{
			int64_t		n = (a - 1) * 1000 + i + 1;
			int64_t		t = first + i;
			int64_t		st = t0 + i * 10000;

			put_int(n);
			obuf[olen++] = '\t';
			put_int(a);
			obuf[olen++] = '\t';
			put_int(t / 29 * 100 + t % 29 + 1);
			obuf[olen++] = '\t';
			put_str(n % 20 == 0 ? "failed" : n % 20 < 3 ? "timeout" :
					n % 20 == 3 ? "expired" : "success");
			PUTS("\t[{\"foundanything\":");
			put_str(n % 10 == 0 ? "true" : "false");
			PUTS(",\"success\":true,\"elements\":{},\"statistics\":{\"exectime\":\"");
			put_int(n % 997);
			PUTS("ms\"},\"errors\":[]}]\t");
			put_ts(st);
			field_ts(st + n % 300 * USECS_PER_SEC);
			end_row();
		}
	}
}

int
main(int argc, char **argv)
{
	int			i;

	if (argc < 4 || (scale = strtoll(argv[1], NULL, 10)) < 2000 || scale % 1000 != 0 ||
		scale > INT64_C(1000000000))
	{
		fprintf(stderr, "usage: scale_rows COMMANDS NOW0 TABLE...\n"
				"COMMANDS: a multiple of 1000, at least 2000; NOW0: microseconds since 1970-01-01 UTC;\n"
				"TABLE: actions, agents or commands\n");
		return 2;
	}
	now0 = strtoll(argv[2], NULL, 10);
	start = ts_plus(now0, -730, 0);
	for (i = 3; i < argc; i++)
	{
		if (strcmp(argv[i], "actions") == 0)
			actions();
		else if (strcmp(argv[i], "agents") == 0)
			agents();
		else if (strcmp(argv[i], "commands") == 0)
			commands();
		else
		{
			fprintf(stderr, "scale_rows: no table \"%s\"\n", argv[i]);
			return 2;
		}
		PUTS("\\.\n");
		flush_out();
	}
	if (fflush(stdout) != 0)
	{
		perror("scale_rows: write");
		return 1;
	}
	return 0;
}
