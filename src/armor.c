/*-------------------------------------------------------------------------
 *
 * armor.c
 *	  OpenPGP as data: base64 and CRC-24, the ASCII armor (RFC 4880, 6),
 *	  MIG's one-line form of a signature (read and written), OpenPGP
 *	  packets, and what mig reads from them: a detached signature's packet,
 *	  issuer and creation time, and a public key's primary fingerprint.
 *
 *	  This code only finds the packets and their metadata; it decides
 *	  nothing about validity.  The issuer and the time are what let one gpg
 *	  run verify every signature of an action (gnupg.c concatenates the
 *	  packets into one detached signature and maps gpg's answers back by
 *	  issuer and time); the fingerprint is what maps each imported key to its
 *	  investigator (keyring.c).  Every cryptographic decision is gpg's.
 *
 *	  Not here: gpg and gpgme (gnupg.c), the investigators' keyring
 *	  (keyring.c), the SQL functions (pgp.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/base64.h"
#include "common/cryptohash.h"
#include "common/sha2.h"
#include "lib/stringinfo.h"

#include "armor.h"

/* OpenPGP packet tags (RFC 4880, 4.3) */
#define TAG_SIGNATURE		2
#define TAG_SECRET_KEY		5
#define TAG_PUBLIC_KEY		6
#define TAG_SECRET_SUBKEY	7
#define TAG_MARKER			10

#define SHA1_LEN			20

/* ----------------------------------------------------------------
 * Base64 and ASCII armor
 * ----------------------------------------------------------------
 */

static const int8 b64_value[256] = {
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 62, -1, -1, -1, 63,
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -1, -1, -1,
	-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, -1, -1, -1, -1, -1,
	-1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
};

/*
 * Strict base64 with padding: whitespace is skipped, "=" only at the end.
 * Appends the bytes to out.
 */
static bool
base64_decode(const char *s, size_t len, StringInfo out)
{
	uint32		acc = 0;
	int			n = 0;
	int			pad = 0;

	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (c == '=')
		{
			pad++;
			if (n + pad > 4)
				return false;
			continue;
		}
		if (pad > 0 || b64_value[c] < 0)
			return false;
		acc = (acc << 6) | (uint32) b64_value[c];
		if (++n == 4)
		{
			appendStringInfoChar(out, (char) (acc >> 16));
			appendStringInfoChar(out, (char) (acc >> 8));
			appendStringInfoChar(out, (char) acc);
			acc = 0;
			n = 0;
		}
	}
	if (pad > 0)
	{
		/* "xx==" or "xxx=" */
		if (n + pad != 4 || n < 2)
			return false;
		if (n == 2)
			appendStringInfoChar(out, (char) (acc >> 4));
		else
		{
			appendStringInfoChar(out, (char) (acc >> 10));
			appendStringInfoChar(out, (char) (acc >> 2));
		}
	}
	else if (n != 0)
		return false;
	return true;
}

/* CRC-24 of RFC 4880, 6.1 */
static uint32
crc24(const uint8 *p, size_t len)
{
	uint32		crc = 0xB704CE;

	while (len--)
	{
		crc ^= ((uint32) *p++) << 16;
		for (int i = 0; i < 8; i++)
		{
			crc <<= 1;
			if (crc & 0x1000000)
				crc ^= 0x1864CFB;
		}
	}
	return crc & 0xFFFFFF;
}

/* "=XXXX": the armor checksum of the bytes decoded from one block */
static bool
check_crc(const char *crc, size_t len, const uint8 *data, size_t datalen)
{
	StringInfoData buf;
	bool		ok;

	initStringInfo(&buf);
	ok = base64_decode(crc, len, &buf) && buf.len == 3 &&
		((((uint32) (uint8) buf.data[0]) << 16) |
		 (((uint32) (uint8) buf.data[1]) << 8) |
		 (uint32) (uint8) buf.data[2]) == crc24(data, datalen);
	pfree(buf.data);
	return ok;
}

/* next line of text: [*pos, eol) without "\r\n"/"\n"; false at the end */
static bool
next_line(const char *text, size_t len, size_t *pos, const char **line, size_t *linelen)
{
	size_t		start = *pos,
				end;

	if (start >= len)
		return false;
	end = start;
	while (end < len && text[end] != '\n')
		end++;
	*pos = end < len ? end + 1 : end;
	/* trailing whitespace (and the \r of CRLF) is not part of the line */
	while (end > start && (text[end - 1] == '\r' || text[end - 1] == ' ' ||
						   text[end - 1] == '\t'))
		end--;
	*line = text + start;
	*linelen = end - start;
	return true;
}

static bool
line_is(const char *line, size_t linelen, const char *what)
{
	return linelen == strlen(what) && memcmp(line, what, linelen) == 0;
}

/*
 * Decode every armored block of text.  A block whose type is in types[]
 * is appended to out; any other block, text outside blocks (other than
 * blank lines), a bad checksum or bad base64 is an error described in *err.
 * Returns the number of blocks decoded.
 */
static int
dearmor_blocks(const char *text, size_t len, const char *const *types,
			   StringInfo out, const char **err)
{
	size_t		pos = 0;
	int			nblocks = 0;
	const char *line;
	size_t		linelen;

	while (next_line(text, len, &pos, &line, &linelen))
	{
		char		begin[64];
		char		end[64];
		const char *type = NULL;
		size_t		body_start = 0,
					body_end = 0;
		const char *crc = NULL;
		size_t		crclen = 0;
		bool		in_headers = true;
		bool		ended = false;
		int			start_len = out->len;

		if (linelen == 0)
			continue;
		for (int i = 0; types[i] != NULL; i++)
		{
			snprintf(begin, sizeof(begin), "-----BEGIN PGP %s-----", types[i]);
			if (line_is(line, linelen, begin))
				type = types[i];
		}
		if (type == NULL)
		{
			*err = (linelen > 15 && memcmp(line, "-----BEGIN PGP ", 15) == 0) ?
				"the armor holds another kind of OpenPGP data" :
				"text outside the ASCII armor";
			return -1;
		}
		snprintf(end, sizeof(end), "-----END PGP %s-----", type);
		body_start = pos;
		while (next_line(text, len, &pos, &line, &linelen))
		{
			if (in_headers)
			{
				/* "Version: ..." and friends until the blank line */
				if (linelen == 0)
				{
					in_headers = false;
					body_start = pos;
					continue;
				}
				if (memchr(line, ':', linelen) != NULL)
					continue;
				/* no header and no blank line: the body starts here */
				in_headers = false;
				body_start = line - text;
			}
			if (linelen > 0 && line[0] == '=' && crc == NULL)
			{
				crc = line + 1;
				crclen = linelen - 1;
				body_end = line - text;
				continue;
			}
			if (line_is(line, linelen, end))
			{
				if (crc == NULL)
					body_end = line - text;
				ended = true;
				break;
			}
			if (crc != NULL)
			{
				*err = "data after the armor checksum";
				return -1;
			}
		}
		if (!ended)
		{
			*err = "the ASCII armor has no END line";
			return -1;
		}
		if (in_headers || body_end <= body_start)
		{
			*err = "the ASCII armor is empty";
			return -1;
		}
		if (!base64_decode(text + body_start, body_end - body_start, out))
		{
			*err = "the ASCII armor is not valid base64";
			return -1;
		}
		if (crc != NULL &&
			!check_crc(crc, crclen, (uint8 *) out->data + start_len,
					   out->len - start_len))
		{
			*err = "the ASCII armor checksum does not match";
			return -1;
		}
		nblocks++;
	}
	return nblocks;
}

/*
 * A signature as MIG stores it, decoded: full ASCII armor, or MIG's one-line
 * form (mozilla/mig pgp.deArmor: the armor body with its newlines removed,
 * the "=XXXX" checksum appended, no header lines).
 */
static bool
dearmor_signature(const char *text, size_t len, StringInfo out, const char **err)
{
	static const char *const types[] = {"SIGNATURE", NULL};
	size_t		start = 0;
	StringInfoData compact;
	bool		ok;

	while (start < len && isspace((unsigned char) text[start]))
		start++;
	if (start == len)
	{
		*err = "the signature is empty";
		return false;
	}
	if (len - start >= 5 && memcmp(text + start, "-----", 5) == 0)
	{
		int			n = dearmor_blocks(text, len, types, out, err);

		if (n == 1)
			return true;
		if (n > 1)
			*err = "the text holds more than one armored signature";
		return false;
	}

	/* one-line form: drop any whitespace, then split off "=XXXX" */
	initStringInfo(&compact);
	for (size_t i = start; i < len; i++)
		if (!isspace((unsigned char) text[i]))
			appendStringInfoChar(&compact, text[i]);
	if (compact.len >= 5 && compact.data[compact.len - 5] == '=' &&
		(compact.len - 5) % 4 == 0 &&
		b64_value[(unsigned char) compact.data[compact.len - 4]] >= 0)
	{
		int			body = compact.len - 5;

		ok = base64_decode(compact.data, body, out);
		if (!ok)
			*err = "the signature is neither ASCII armor nor MIG's one-line form";
		else if (!check_crc(compact.data + body + 1, 4, (uint8 *) out->data, out->len))
		{
			*err = "the signature's checksum does not match";
			ok = false;
		}
	}
	else
	{
		ok = base64_decode(compact.data, compact.len, out);
		if (!ok)
			*err = "the signature is neither ASCII armor nor MIG's one-line form";
	}
	pfree(compact.data);
	return ok;
}

/* ----------------------------------------------------------------
 * Packets
 * ----------------------------------------------------------------
 */

typedef struct PgpPacket
{
	int			tag;
	const uint8 *body;
	size_t		len;
	const uint8 *start;			/* header included */
	size_t		total;
} PgpPacket;

/*
 * The packet at *p, advancing *p past it.  Partial and indeterminate lengths
 * are refused: signatures and keys never use them.
 */
static bool
next_packet(const uint8 **p, const uint8 *end, PgpPacket *pkt, const char **err)
{
	const uint8 *q = *p;
	size_t		len;

	if (q >= end)
		return false;
	pkt->start = q;
	if (!(q[0] & 0x80))
	{
		*err = "the data is not OpenPGP";
		return false;
	}
	if (q[0] & 0x40)
	{
		/* new format */
		pkt->tag = q[0] & 0x3f;
		q++;
		if (q >= end)
			goto truncated;
		if (q[0] < 192)
			len = *q++;
		else if (q[0] < 224)
		{
			if (end - q < 2)
				goto truncated;
			len = ((size_t) (q[0] - 192) << 8) + q[1] + 192;
			q += 2;
		}
		else if (q[0] == 255)
		{
			if (end - q < 5)
				goto truncated;
			len = ((size_t) q[1] << 24) | ((size_t) q[2] << 16) |
				((size_t) q[3] << 8) | q[4];
			q += 5;
		}
		else
		{
			*err = "a packet has a partial length";
			return false;
		}
	}
	else
	{
		/* old format */
		int			ltype = q[0] & 3;

		pkt->tag = (q[0] >> 2) & 0xf;
		q++;
		if (ltype == 3)
		{
			*err = "a packet has an indeterminate length";
			return false;
		}
		if (end - q < (1 << ltype))
			goto truncated;
		len = 0;
		for (int i = 0; i < (1 << ltype); i++)
			len = (len << 8) | *q++;
	}
	if ((size_t) (end - q) < len)
		goto truncated;
	pkt->body = q;
	pkt->len = len;
	pkt->total = (q + len) - pkt->start;
	*p = q + len;
	return true;

truncated:
	*err = "the OpenPGP data is truncated";
	return false;
}

static void
hex_upper(const uint8 *p, size_t len, char *out)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < len; i++)
	{
		out[2 * i] = hex[p[i] >> 4];
		out[2 * i + 1] = hex[p[i] & 15];
	}
	out[2 * len] = '\0';
}

/* ----------------------------------------------------------------
 * Signatures and public keys: what mig reads from the packets
 * ----------------------------------------------------------------
 */

/* issuer and creation time from v4 subpackets */
static bool
parse_subpackets(const uint8 *p, size_t len, bool hashed, MigPgpSig *sig)
{
	const uint8 *end = p + len;

	while (p < end)
	{
		size_t		sublen;
		int			type;

		if (p[0] < 192)
			sublen = *p++;
		else if (p[0] < 255)
		{
			if (end - p < 2)
				return false;
			sublen = ((size_t) (p[0] - 192) << 8) + p[1] + 192;
			p += 2;
		}
		else
		{
			if (end - p < 5)
				return false;
			sublen = ((size_t) p[1] << 24) | ((size_t) p[2] << 16) |
				((size_t) p[3] << 8) | p[4];
			p += 5;
		}
		if (sublen == 0 || (size_t) (end - p) < sublen)
			return false;
		type = p[0] & 0x7f;
		if (type == 2 && hashed && sublen == 5)
			sig->created = ((int64) p[1] << 24) | ((int64) p[2] << 16) |
				((int64) p[3] << 8) | p[4];
		else if (type == 16 && sublen == 9)
			hex_upper(p + 1, 8, sig->keyid);
		else if (type == 33 && sublen == 22 && p[1] == 4)
			hex_upper(p + 2, SHA1_LEN, sig->issuer_fpr);
		p += sublen;
	}
	return true;
}

/*
 * Parse the text of one signature.  On failure sig->ok is false and
 * sig->error says why; nothing is raised.
 */
void
mig_pgp_parse_signature(const char *text, size_t len, MigPgpSig *sig)
{
	StringInfoData bin;
	const uint8 *p,
			   *end;
	PgpPacket	pkt;
	int			nsigs = 0;
	const char *err = NULL;

	memset(sig, 0, sizeof(MigPgpSig));
	sig->created = -1;
	initStringInfo(&sig->packet);
	initStringInfo(&bin);
	if (!dearmor_signature(text, len, &bin, &err))
	{
		sig->error = err;
		return;
	}
	p = (const uint8 *) bin.data;
	end = p + bin.len;
	while (next_packet(&p, end, &pkt, &err))
	{
		if (pkt.tag == TAG_MARKER)
			continue;
		if (pkt.tag != TAG_SIGNATURE)
		{
			sig->error = "the data holds OpenPGP packets that are not a signature";
			return;
		}
		if (++nsigs > 1)
		{
			sig->error = "the text holds more than one signature";
			return;
		}
		appendBinaryStringInfo(&sig->packet, (const char *) pkt.start, pkt.total);
		if (pkt.len >= 1 && pkt.body[0] == 4)
		{
			size_t		hlen,
						ulen;

			if (pkt.len < 6)
				goto bad;
			if (pkt.body[1] != 0x00 && pkt.body[1] != 0x01)
			{
				sig->error = "the signature is not a signature of a document";
				return;
			}
			hlen = ((size_t) pkt.body[4] << 8) | pkt.body[5];
			if (pkt.len < 6 + hlen + 2)
				goto bad;
			ulen = ((size_t) pkt.body[6 + hlen] << 8) | pkt.body[7 + hlen];
			if (pkt.len < 8 + hlen + ulen + 2)
				goto bad;
			if (!parse_subpackets(pkt.body + 6, hlen, true, sig) ||
				!parse_subpackets(pkt.body + 8 + hlen, ulen, false, sig))
				goto bad;
		}
		else if (pkt.len >= 1 && pkt.body[0] == 3)
		{
			if (pkt.len < 19 || pkt.body[1] != 5)
				goto bad;
			if (pkt.body[2] != 0x00 && pkt.body[2] != 0x01)
			{
				sig->error = "the signature is not a signature of a document";
				return;
			}
			sig->created = ((int64) pkt.body[3] << 24) | ((int64) pkt.body[4] << 16) |
				((int64) pkt.body[5] << 8) | pkt.body[6];
			hex_upper(pkt.body + 7, 8, sig->keyid);
		}
		/* other versions: gpg decides; the mapping falls back to one run */
	}
	if (err != NULL)
	{
		sig->error = err;
		return;
	}
	if (nsigs == 0)
	{
		sig->error = "the data holds no signature packet";
		return;
	}
	/* a v4 issuer fingerprint also gives the key id */
	if (sig->keyid[0] == '\0' && sig->issuer_fpr[0] != '\0')
		strlcpy(sig->keyid, sig->issuer_fpr + 24, sizeof(sig->keyid));
	sig->ok = true;
	pfree(bin.data);
	return;

bad:
	sig->error = "the signature packet is malformed";
}

/*
 * MIG's one-line form of a signature text: its signature packet in base64
 * without line breaks, then "=" and the armor checksum (mozilla/mig
 * pgp.deArmor's output, what MIG's clients store).  The shortest faithful
 * text of a signature; NULL when text holds none.
 */
char *
mig_pgp_signature_oneline(const char *text, size_t len)
{
	MigPgpSig	sig;
	uint32		crc;
	char		crcbytes[3];
	char	   *out;
	int			n;

	mig_pgp_parse_signature(text, len, &sig);
	if (!sig.ok)
		return NULL;
	out = palloc(pg_b64_enc_len(sig.packet.len) + 1 + 4 + 1);
	n = pg_b64_encode(sig.packet.data, sig.packet.len, out, pg_b64_enc_len(sig.packet.len));
	if (n < 0)
		elog(ERROR, "could not encode a signature in base64");
	crc = crc24((const uint8 *) sig.packet.data, sig.packet.len);
	crcbytes[0] = (char) (crc >> 16);
	crcbytes[1] = (char) (crc >> 8);
	crcbytes[2] = (char) crc;
	out[n++] = '=';
	if (pg_b64_encode(crcbytes, 3, out + n, 4) != 4)
		elog(ERROR, "could not encode a signature checksum in base64");
	out[n + 4] = '\0';
	pfree(sig.packet.data);
	return out;
}

/* "the armor ..." -> "The armor ...": a reason as an errdetail sentence */
char *
mig_pgp_sentence(const char *reason)
{
	char	   *s = psprintf("%s.", reason);

	s[0] = pg_ascii_toupper((unsigned char) s[0]);
	return s;
}

/*
 * The public keys of an armored key text: the primary fingerprints (v4),
 * counted.  Raises 22023 for text that is not exactly one public key.
 */
void
mig_pgp_parse_public_key(const char *text, size_t len, char *fpr)
{
	static const char *const types[] = {"PUBLIC KEY BLOCK", "PRIVATE KEY BLOCK", NULL};
	StringInfoData bin;
	const char *err = NULL;
	const uint8 *p,
			   *end;
	PgpPacket	pkt;
	int			nkeys = 0;
	int			nblocks;

	initStringInfo(&bin);
	nblocks = dearmor_blocks(text, len, types, &bin, &err);
	if (nblocks <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("text does not hold an OpenPGP public key"),
				 errdetail("%s", mig_pgp_sentence(nblocks < 0 ? err : "the text is empty")),
				 errhint("Give the ASCII-armored key as \"gpg --armor --export FINGERPRINT\" writes it.")));

	p = (const uint8 *) bin.data;
	end = p + bin.len;
	while (next_packet(&p, end, &pkt, &err))
	{
		if (pkt.tag == TAG_SECRET_KEY || pkt.tag == TAG_SECRET_SUBKEY)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("text holds an OpenPGP secret key"),
					 errdetail("Only public keys may be stored or used for verification."),
					 errhint("Export the public key with \"gpg --armor --export FINGERPRINT\".")));
		if (pkt.tag != TAG_PUBLIC_KEY)
			continue;
		if (pkt.len < 1 || pkt.body[0] != 4)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("OpenPGP public key version %d is not supported",
							pkt.len < 1 ? 0 : pkt.body[0]),
					 errdetail("Only version 4 keys are supported.")));

		/*
		 * A v4 fingerprint hashes the packet's length in two bytes (RFC 4880,
		 * 12.2), so a longer key packet has none; no real key is that long.
		 */
		if (pkt.len > 0xffff)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("text does not hold an OpenPGP public key"),
					 errdetail("The public key packet is longer than 65535 bytes.")));
		if (++nkeys == 1)
		{
			pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA1);
			uint8		head[3] = {0x99, (uint8) (pkt.len >> 8), (uint8) pkt.len};
			uint8		digest[SHA1_LEN];

			if (pg_cryptohash_init(ctx) < 0 ||
				pg_cryptohash_update(ctx, head, 3) < 0 ||
				pg_cryptohash_update(ctx, pkt.body, pkt.len) < 0 ||
				pg_cryptohash_final(ctx, digest, sizeof(digest)) < 0)
				elog(ERROR, "could not compute a key fingerprint: %s",
					 pg_cryptohash_error(ctx));
			pg_cryptohash_free(ctx);
			hex_upper(digest, SHA1_LEN, fpr);
		}
	}
	if (err != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("text does not hold an OpenPGP public key"),
				 errdetail("%s", mig_pgp_sentence(err))));
	if (nkeys == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("text does not hold an OpenPGP public key"),
				 errdetail("The armored data holds no public key packet.")));
	if (nkeys > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("text holds %d OpenPGP public keys, not one", nkeys),
				 errhint("Give one investigator's key at a time.")));
	pfree(bin.data);
}

/* SHA-256 of a key text: what tells a changed key from an unchanged one */
void
mig_pgp_key_digest(const char *text, size_t len, uint8 digest[PG_SHA256_DIGEST_LENGTH])
{
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);

	if (pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, (const uint8 *) text, len) < 0 ||
		pg_cryptohash_final(ctx, digest, PG_SHA256_DIGEST_LENGTH) < 0)
		elog(ERROR, "could not compute SHA-256: %s", pg_cryptohash_error(ctx));
	pg_cryptohash_free(ctx);
}

