/*-------------------------------------------------------------------------
 *
 * pgp_text.h
 *	  OpenPGP bytes to text, for the signature and public key harnesses.
 *
 * libFuzzer mutates bytes; through base64 and a CRC-24 its mutations of a
 * packet almost never survive, so the harnesses also take an input that
 * starts like a packet (a byte with the high bit set, which no armor or
 * base64 text does) as binary packets and write it out here as text in
 * each of the forms MIG reads.  The parser must make the same of every
 * form.  The writer is independent of armor.c's reader: PostgreSQL's
 * base64 encoder and a table-driven CRC-24, where armor.c decodes base64
 * itself and computes the CRC bit by bit.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIG_FUZZ_PGP_TEXT_H
#define MIG_FUZZ_PGP_TEXT_H

#include "common/base64.h"
#include "lib/stringinfo.h"

#include "shim.h"

/* how to write an armor: bits of the input pick them */
#define ARMOR_CRC		0x01	/* "=XXXX" checksum line */
#define ARMOR_HEADERS	0x02	/* "Version:" and "Comment:" lines */
#define ARMOR_NOBLANK	0x04	/* no blank line after the BEGIN line */
#define ARMOR_CRLF		0x08	/* "\r\n" line ends */
#define ARMOR_TRAILING	0x10	/* spaces and tabs after every line */
#define ARMOR_PADLINES	0x20	/* blank lines around the armor */

/* each harness uses some of these */

static uint32 pgp_crc_table[256];

/* CRC-24 (RFC 4880, 6.1) through a table of the polynomial 0x1864CFB */
pg_attribute_unused()
static uint32
pgp_crc24(const uint8 *p, size_t len)
{
	uint32		crc = 0xB704CE;

	if (pgp_crc_table[1] == 0)
	{
		for (uint32 i = 0; i < 256; i++)
		{
			uint32		c = i << 16;

			for (int k = 0; k < 8; k++)
				c = (c & 0x800000) ? (c << 1) ^ 0x1864CFB : c << 1;
			pgp_crc_table[i] = c & 0xFFFFFF;
		}
	}
	while (len--)
		crc = ((crc << 8) ^ pgp_crc_table[((crc >> 16) ^ *p++) & 0xFF]) & 0xFFFFFF;
	return crc;
}

/* base64 of bytes, NUL-terminated */
pg_attribute_unused()
static char *
pgp_base64(const uint8 *p, size_t len)
{
	int			enclen = pg_b64_enc_len((int) len);
	char	   *out = palloc(enclen + 1);
	int			n = pg_b64_encode((const char *) p, (int) len, out, enclen);

	if (n < 0)
		mig_fuzz_fail("pg_b64_encode failed on %zu bytes", len);
	out[n] = '\0';
	return out;
}

/* "=XXXX" of bytes */
pg_attribute_unused()
static char *
pgp_crc_text(const uint8 *p, size_t len)
{
	uint32		crc = pgp_crc24(p, len);
	uint8		b[3] = {(uint8) (crc >> 16), (uint8) (crc >> 8), (uint8) crc};

	return psprintf("=%s", pgp_base64(b, 3));
}

/* MIG's one-line form: base64 without line breaks, then "=XXXX" if crc */
pg_attribute_unused()
static char *
pgp_oneline(const uint8 *p, size_t len, bool crc)
{
	return psprintf("%s%s", pgp_base64(p, len), crc ? pgp_crc_text(p, len) : "");
}

/*
 * ASCII armor of type ("SIGNATURE", "PUBLIC KEY BLOCK") around bytes, in
 * the given style, with body lines of width characters (a multiple of 4, as
 * gpg's 64 is: a line that starts with "=" is the checksum's).
 */
pg_attribute_unused()
static char *
pgp_armor(const uint8 *p, size_t len, const char *type, int style, int width)
{
	const char *eol = (style & ARMOR_CRLF) ? "\r\n" : "\n";
	const char *trail = (style & ARMOR_TRAILING) ? " \t " : "";
	char	   *b64 = pgp_base64(p, len);
	int			b64len = strlen(b64);
	StringInfoData s;

	initStringInfo(&s);
	if (style & ARMOR_PADLINES)
		appendStringInfo(&s, "%s%s%s", eol, trail, eol);
	appendStringInfo(&s, "-----BEGIN PGP %s-----%s%s", type, trail, eol);
	if (style & ARMOR_HEADERS)
		appendStringInfo(&s, "Version: GnuPG v2%s%sComment: a: b:%s%s",
						 trail, eol, trail, eol);
	if (!(style & ARMOR_NOBLANK) || (style & ARMOR_HEADERS))
		appendStringInfo(&s, "%s", eol);
	for (int i = 0; i < b64len; i += width)
		appendStringInfo(&s, "%.*s%s%s", Min(width, b64len - i), b64 + i, trail, eol);
	if (style & ARMOR_CRC)
		appendStringInfo(&s, "%s%s%s", pgp_crc_text(p, len), trail, eol);
	appendStringInfo(&s, "-----END PGP %s-----%s", type, trail);
	if (style & ARMOR_PADLINES)
		appendStringInfo(&s, "%s%s", eol, eol);
	return s.data;
}

/* a style and a width from the input's bytes, to vary the text */
pg_attribute_unused()
static void
pgp_style_of(const uint8 *data, size_t size, int *style, int *width)
{
	uint8		last = size > 0 ? data[size - 1] : 0;

	*style = last ^ (int) size;
	*width = 4 * (1 + (last >> 3) % 24);
}

/* upper-case hex digits, exactly n of them */
pg_attribute_unused()
static bool
pgp_is_hex(const char *s, size_t n)
{
	if (strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return true;
}

#endif							/* MIG_FUZZ_PGP_TEXT_H */
