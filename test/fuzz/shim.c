/*-------------------------------------------------------------------------
 *
 * shim.c
 *	  The server, as far as mig's parsers need it, for the fuzzers.
 *
 * See shim.h.  Only what the parser files call is here; the frontend
 * libpgcommon and libpgport supply StringInfo, the JSON parser, base64,
 * SHA-256, UTF-8 helpers and snprintf.  Functions the harnesses never reach
 * (they live in the same files as the parsers) abort if they are reached.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/jsonapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "storage/fd.h"
#include "utils/jsonb.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "shim.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/asan_interface.h>
#define HAVE_ASAN 1
#endif
#endif
#ifndef HAVE_ASAN
#define ASAN_POISON_MEMORY_REGION(a, s) ((void) (a), (void) (s))
#define ASAN_UNPOISON_MEMORY_REGION(a, s) ((void) (a), (void) (s))
#endif

void
mig_fuzz_fail(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	fputs("mig fuzz: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

#define UNREACHED(name) \
	mig_fuzz_fail("%s() reached: not part of what the fuzzers run", name)

/* ---------------------------------------------------------------------
 * Memory: palloc and friends over malloc, reset after every input
 *
 * Each chunk is one malloc with a header in front, on a list of the
 * current input's chunks.  The header is poisoned while the chunk lives, so
 * that a write before the chunk is caught as one after it is.
 * ---------------------------------------------------------------------
 */
typedef struct Chunk
{
	struct Chunk *prev;
	struct Chunk *next;
	size_t		size;
	size_t		magic;
} Chunk;

#define CHUNK_MAGIC ((size_t) 0x6d6967667a7a6368)

static Chunk arena = {&arena, &arena, 0, 0};

static void *
chunk_alloc(Size size, bool zero)
{
	Chunk	   *c;

	if (!AllocSizeIsValid(size))
		elog(ERROR, "invalid memory alloc request size %zu", size);
	c = zero ? calloc(1, sizeof(Chunk) + size) : malloc(sizeof(Chunk) + size);
	if (c == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	c->size = size;
	c->magic = CHUNK_MAGIC;
	c->next = &arena;
	c->prev = arena.prev;
	ASAN_UNPOISON_MEMORY_REGION(arena.prev, sizeof(Chunk));
	arena.prev->next = c;
	if (arena.prev != &arena)
		ASAN_POISON_MEMORY_REGION(arena.prev, sizeof(Chunk));
	arena.prev = c;
	ASAN_POISON_MEMORY_REGION(c, sizeof(Chunk));
	return c + 1;
}

static Chunk *
chunk_of(void *pointer, const char *caller)
{
	Chunk	   *c;

	if (pointer == NULL)
		mig_fuzz_fail("%s(NULL)", caller);
	c = (Chunk *) pointer - 1;
	ASAN_UNPOISON_MEMORY_REGION(c, sizeof(Chunk));
	if (c->magic != CHUNK_MAGIC)
		mig_fuzz_fail("%s() of a pointer palloc did not return", caller);
	return c;
}

static void
chunk_unlink(Chunk *c)
{
	ASAN_UNPOISON_MEMORY_REGION(c->prev, sizeof(Chunk));
	ASAN_UNPOISON_MEMORY_REGION(c->next, sizeof(Chunk));
	c->prev->next = c->next;
	c->next->prev = c->prev;
	if (c->prev != &arena)
		ASAN_POISON_MEMORY_REGION(c->prev, sizeof(Chunk));
	if (c->next != &arena)
		ASAN_POISON_MEMORY_REGION(c->next, sizeof(Chunk));
	c->magic = 0;
}

static void
arena_reset(void)
{
	while (arena.next != &arena)
	{
		Chunk	   *c = arena.next;

		ASAN_UNPOISON_MEMORY_REGION(c, sizeof(Chunk));
		chunk_unlink(c);
		free(c);
	}
}

void *
palloc(Size size)
{
	return chunk_alloc(size, false);
}

void *
palloc0(Size size)
{
	return chunk_alloc(size, true);
}

void *
palloc_extended(Size size, int flags)
{
	return chunk_alloc(size, (flags & MCXT_ALLOC_ZERO) != 0);
}

void
pfree(void *pointer)
{
	Chunk	   *c = chunk_of(pointer, "pfree");

	chunk_unlink(c);
	free(c);
}

void *
repalloc(void *pointer, Size size)
{
	Chunk	   *c = chunk_of(pointer, "repalloc");
	size_t		oldsize = c->size;
	void	   *copy;

	/* poisoned again (chunk_alloc relinks its neighbour): read it before */
	ASAN_POISON_MEMORY_REGION(c, sizeof(Chunk));
	copy = chunk_alloc(size, false);
	memcpy(copy, pointer, Min(size, oldsize));
	pfree(pointer);
	return copy;
}

char *
pstrdup(const char *in)
{
	size_t		len = strlen(in);
	char	   *out = palloc(len + 1);

	memcpy(out, in, len + 1);
	return out;
}

char *
pnstrdup(const char *in, Size size)
{
	char	   *out;

	size = strnlen(in, size);
	out = palloc(size + 1);
	memcpy(out, in, size);
	out[size] = '\0';
	return out;
}

/* ---------------------------------------------------------------------
 * Errors: ereport(ERROR) longjmps to mig_fuzz_run()
 * ---------------------------------------------------------------------
 */
sigjmp_buf *PG_exception_stack = NULL;
ErrorContextCallback *error_context_stack = NULL;

static struct
{
	int			elevel;
	int			saved_errno;
	MigFuzzError e;
} cur;

bool
errstart(int elevel, const char *domain)
{
	if (elevel >= ERROR && PG_exception_stack == NULL)
		mig_fuzz_fail("ereport(ERROR) outside mig_fuzz_run()");
	cur.elevel = elevel;
	cur.saved_errno = errno;
	cur.e.sqlerrcode = elevel >= ERROR ? ERRCODE_INTERNAL_ERROR :
		elevel == WARNING ? ERRCODE_WARNING : ERRCODE_SUCCESSFUL_COMPLETION;
	cur.e.message[0] = '\0';
	cur.e.detail[0] = '\0';
	return true;
}

bool
errstart_cold(int elevel, const char *domain)
{
	return errstart(elevel, domain);
}

void
errfinish(const char *filename, int lineno, const char *funcname)
{
	if (cur.elevel >= FATAL)
		mig_fuzz_fail("%s at %s:%d: %s", cur.elevel == FATAL ? "FATAL" : "PANIC",
					  filename, lineno, cur.e.message);
	if (cur.elevel < ERROR)
		return;
	if (cur.e.sqlerrcode == ERRCODE_INTERNAL_ERROR)
		mig_fuzz_fail("elog(ERROR) (XX000, a \"cannot happen\") at %s:%d (%s): %s",
					  filename, lineno, funcname, cur.e.message);
	if (cur.e.message[0] == '\0')
		mig_fuzz_fail("ERROR without a message at %s:%d", filename, lineno);
	siglongjmp(*PG_exception_stack, 1);
}

void
pg_re_throw(void)
{
	if (PG_exception_stack == NULL)
		mig_fuzz_fail("PG_RE_THROW() outside mig_fuzz_run()");
	siglongjmp(*PG_exception_stack, 1);
}

int
errcode(int sqlerrcode)
{
	cur.e.sqlerrcode = sqlerrcode;
	return 0;
}

#define FORMAT_INTO(buf, fmt) \
	do { \
		va_list		ap; \
		int			save = errno; \
		errno = cur.saved_errno; \
		va_start(ap, fmt); \
		pvsnprintf((buf), sizeof(buf), (fmt), ap); \
		va_end(ap); \
		errno = save; \
	} while (0)

int
errmsg(const char *fmt,...)
{
	FORMAT_INTO(cur.e.message, fmt);
	return 0;
}

int
errmsg_internal(const char *fmt,...)
{
	FORMAT_INTO(cur.e.message, fmt);
	return 0;
}

int
errdetail(const char *fmt,...)
{
	FORMAT_INTO(cur.e.detail, fmt);
	return 0;
}

int
errdetail_internal(const char *fmt,...)
{
	FORMAT_INTO(cur.e.detail, fmt);
	return 0;
}

int
errhint(const char *fmt,...)
{
	return 0;
}

bool
mig_fuzz_run(MigFuzzFn fn, const uint8 *data, size_t size, void *arg,
			 MigFuzzError *error)
{
	volatile bool ok = true;

	PG_TRY();
	{
		fn(data, size, arg);
	}
	PG_CATCH();
	{
		ok = false;
		if (error != NULL)
			*error = cur.e;
	}
	PG_END_TRY();
	arena_reset();
	return ok;
}

/* ---------------------------------------------------------------------
 * The backend functions the parsers call
 * ---------------------------------------------------------------------
 */

/* the stack's depth, as the server limits it (max_stack_depth's 2MB) */
static char *stack_base = NULL;

void
check_stack_depth(void)
{
	char		here;

	if (stack_base == NULL)
		stack_base = &here;
	else if (stack_base - &here > 2 * 1024 * 1024 || &here - stack_base > 2 * 1024 * 1024)
		ereport(ERROR,
				(errcode(ERRCODE_STATEMENT_TOO_COMPLEX),
				 errmsg("stack depth limit exceeded")));
}

int
GetDatabaseEncoding(void)
{
	return PG_UTF8;
}

char *
pg_server_to_any(const char *s, int len, int encoding)
{
	return unconstify(char *, s);
}

char *
pg_any_to_server(const char *s, int len, int encoding)
{
	return unconstify(char *, s);
}

int
pg_mbstrlen_with_len(const char *mbstr, int limit)
{
	int			len = 0;

	while (limit > 0 && *mbstr)
	{
		int			l = pg_utf_mblen((const unsigned char *) mbstr);

		limit -= l;
		mbstr += l;
		len++;
	}
	return len;
}

bool
pg_verifymbstr(const char *mbstr, int len, bool noError)
{
	if (pg_encoding_verifymbstr(PG_UTF8, mbstr, len) == len)
		return true;
	if (!noError)
		ereport(ERROR,
				(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
				 errmsg("invalid byte sequence for encoding \"UTF8\"")));
	return false;
}

text *
cstring_to_text_with_len(const char *s, int len)
{
	text	   *result = (text *) palloc(len + VARHDRSZ);

	SET_VARSIZE(result, len + VARHDRSZ);
	memcpy(VARDATA(result), s, len);
	return result;
}

text *
cstring_to_text(const char *s)
{
	return cstring_to_text_with_len(s, strlen(s));
}

char *
text_to_cstring(const text *t)
{
	int			len = VARSIZE_ANY_EXHDR(t);
	char	   *result = palloc(len + 1);

	memcpy(result, VARDATA_ANY(t), len);
	result[len] = '\0';
	return result;
}

struct varlena *
pg_detoast_datum(struct varlena *datum)
{
	if (VARATT_IS_EXTENDED(datum))
		UNREACHED("pg_detoast_datum");
	return datum;
}

struct varlena *
pg_detoast_datum_packed(struct varlena *datum)
{
	if (VARATT_IS_EXTERNAL(datum) || VARATT_IS_COMPRESSED(datum))
		UNREACHED("pg_detoast_datum_packed");
	return datum;
}

/* PostgreSQL's List, as far as lappend goes */
List *
lappend(List *list, void *datum)
{
	if (list == NIL)
	{
		list = palloc(offsetof(List, initial_elements) + 4 * sizeof(ListCell));
		list->type = T_List;
		list->length = 0;
		list->max_length = 4;
		list->elements = list->initial_elements;
	}
	else if (list->length == list->max_length)
	{
		ListCell   *cells = palloc(2 * list->max_length * sizeof(ListCell));

		memcpy(cells, list->elements, list->length * sizeof(ListCell));
		if (list->elements != list->initial_elements)
			pfree(list->elements);
		list->elements = cells;
		list->max_length *= 2;
	}
	list->elements[list->length++].ptr_value = datum;
	return list;
}

/* ---------------------------------------------------------------------
 * In the parsers' files, never reached by a harness
 * ---------------------------------------------------------------------
 */
char *
JsonbToCString(StringInfo out, JsonbContainer *in, int estimated_len)
{
	UNREACHED("JsonbToCString");
}

char *
quote_literal_cstr(const char *rawstr)
{
	UNREACHED("quote_literal_cstr");
}

bool
AcquireExternalFD(void)
{
	UNREACHED("AcquireExternalFD");
}

void
ReleaseExternalFD(void)
{
	UNREACHED("ReleaseExternalFD");
}

/* the five characters of an SQLSTATE (elog.c's) */
char *
unpack_sql_state(int sql_state)
{
	static char buf[12];

	for (int i = 0; i < 5; i++)
	{
		buf[i] = PGUNSIXBIT(sql_state);
		sql_state >>= 6;
	}
	buf[5] = '\0';
	return buf;
}
