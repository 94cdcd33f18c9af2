/*
 * fuzz_signature: a detached signature's text (src/armor.c), as actions'
 * signatures and mig_verify_signature() reach it: ASCII armor or MIG's
 * one-line form, base64, CRC-24, packet headers, v3 and v4 signature
 * packets and their subpackets.
 *
 * The input is the text.  An input that starts like a packet (high bit set)
 * is also taken as binary packets and written out as one-line text with and
 * without the checksum and as armor with and without it (pgp_text.h), which
 * lets the fuzzer mutate packets and subpackets directly.
 *
 * Checks besides the sanitizers':
 *	- nothing raises: the parser reports errors in sig->error;
 *	- error is set iff !ok; an accepted signature is one non-empty signature
 *	  packet (tag 2), its key id empty or 16 upper-case hex digits, its
 *	  issuer fingerprint empty or 40 (and then a key id too), its creation
 *	  time -1 or a 32-bit time;
 *	- mig_pgp_signature_oneline() returns text iff the parse accepts, and
 *	  that text parses to the same packet, key id, fingerprint and time, and
 *	  is its own one-line form; so does the packet armored anew;
 *	- binary packets: every text form gives the same result (the same
 *	  reason when refused), and an accepted packet is a run of the input.
 */
#include "postgres.h"

#include "armor.h"
#include "pgp_text.h"
#include "shim.h"

static void
check_sig(const MigPgpSig *sig, const char *form)
{
	const uint8 *p = (const uint8 *) sig->packet.data;
	int			tag;

	if (sig->ok != (sig->error == NULL))
		mig_fuzz_fail("%s: ok is %d and the error is %s", form, sig->ok,
					  sig->error ? sig->error : "NULL");
	if (!sig->ok)
	{
		if (sig->error[0] == '\0')
			mig_fuzz_fail("%s: an empty error", form);
		return;
	}
	if (sig->packet.len < 2 || !(p[0] & 0x80))
		mig_fuzz_fail("%s: accepted, but the packet is %d bytes starting with %02x",
					  form, sig->packet.len, sig->packet.len > 0 ? p[0] : 0);
	tag = (p[0] & 0x40) ? (p[0] & 0x3f) : ((p[0] >> 2) & 0xf);
	if (tag != 2)
		mig_fuzz_fail("%s: accepted a packet of tag %d", form, tag);
	if (sig->keyid[0] != '\0' && !pgp_is_hex(sig->keyid, 16))
		mig_fuzz_fail("%s: key id \"%s\"", form, sig->keyid);
	if (sig->issuer_fpr[0] != '\0' &&
		(!pgp_is_hex(sig->issuer_fpr, 40) || sig->keyid[0] == '\0'))
		mig_fuzz_fail("%s: issuer fingerprint \"%s\", key id \"%s\"", form,
					  sig->issuer_fpr, sig->keyid);
	if (sig->created < -1 || sig->created > (int64) 0xFFFFFFFF)
		mig_fuzz_fail("%s: creation time %lld", form, (long long) sig->created);
}

static void
same_sig(const MigPgpSig *a, const MigPgpSig *b, const char *form)
{
	if (a->ok != b->ok)
		mig_fuzz_fail("%s: ok %d, but %d before (%s)", form, b->ok, a->ok,
					  a->ok ? b->error : a->error);
	if (!a->ok)
	{
		if (strcmp(a->error, b->error) != 0)
			mig_fuzz_fail("%s: \"%s\", but \"%s\" before", form, b->error, a->error);
		return;
	}
	if (a->packet.len != b->packet.len ||
		memcmp(a->packet.data, b->packet.data, a->packet.len) != 0)
		mig_fuzz_fail("%s: another packet (%d bytes, %d before)", form,
					  b->packet.len, a->packet.len);
	if (strcmp(a->keyid, b->keyid) != 0 || strcmp(a->issuer_fpr, b->issuer_fpr) != 0 ||
		a->created != b->created)
		mig_fuzz_fail("%s: %s %s %lld, but %s %s %lld before", form,
					  b->keyid, b->issuer_fpr, (long long) b->created,
					  a->keyid, a->issuer_fpr, (long long) a->created);
}

/* parse text in form, check it, and compare it with what came before */
static void
parse_as(const char *text, size_t len, const MigPgpSig *before, const char *form,
		 MigPgpSig *sig)
{
	mig_pgp_parse_signature(text, len, sig);
	check_sig(sig, form);
	if (before != NULL)
		same_sig(before, sig, form);
}

/* is the packet a run of bytes of data? */
static bool
part_of(const uint8 *data, size_t size, const StringInfoData *packet)
{
	for (size_t i = 0; i + packet->len <= size; i++)
		if (memcmp(data + i, packet->data, packet->len) == 0)
			return true;
	return false;
}

static void
one(const uint8 *data, size_t size, void *arg)
{
	const char *text = (const char *) data;
	MigPgpSig	sig,
				again;
	char	   *line;
	int			style,
				width;

	pgp_style_of(data, size, &style, &width);

	/* the input as text */
	parse_as(text, size, NULL, "text", &sig);
	line = mig_pgp_signature_oneline(text, size);
	if ((line != NULL) != sig.ok)
		mig_fuzz_fail("the one-line form is %s, but the parse %s",
					  line ? "there" : "NULL", sig.ok ? "accepts" : "refuses");
	if (sig.ok)
	{
		const uint8 *pkt = (const uint8 *) sig.packet.data;
		char	   *line2;

		parse_as(line, strlen(line), &sig, "its one-line form", &again);
		line2 = mig_pgp_signature_oneline(line, strlen(line));
		if (line2 == NULL || strcmp(line, line2) != 0)
			mig_fuzz_fail("the one-line form is not its own: \"%s\", then \"%s\"",
						  line, line2 ? line2 : "NULL");
		if (strcmp(line, pgp_oneline(pkt, sig.packet.len, true)) != 0)
			mig_fuzz_fail("the one-line form \"%s\" is not the packet's", line);
		line2 = pgp_armor(pkt, sig.packet.len, "SIGNATURE", style, width);
		parse_as(line2, strlen(line2), &sig, "the packet armored again", &again);
	}

	/* the input as packets, in each text form */
	if (size > 0 && (data[0] & 0x80))
	{
		MigPgpSig	first;
		char	   *t;

		t = pgp_oneline(data, size, true);
		parse_as(t, strlen(t), NULL, "one-line form", &first);
		t = pgp_oneline(data, size, false);
		parse_as(t, strlen(t), &first, "one-line form without checksum", &again);
		t = pgp_armor(data, size, "SIGNATURE", style | ARMOR_CRC, width);
		parse_as(t, strlen(t), &first, "armor", &again);
		t = pgp_armor(data, size, "SIGNATURE", style & ~ARMOR_CRC, width);
		parse_as(t, strlen(t), &first, "armor without checksum", &again);
		if (first.ok && !part_of(data, size, &first.packet))
			mig_fuzz_fail("the packet accepted is not part of the input");
	}
}

int
LLVMFuzzerTestOneInput(const uint8 *data, size_t size)
{
	MigFuzzError e;

	/* armor.h: "nothing is raised" */
	if (!mig_fuzz_run(one, data, size, NULL, &e))
		mig_fuzz_fail("the signature parser raised %s: %s (%s)",
					  unpack_sql_state(e.sqlerrcode), e.message, e.detail);
	return 0;
}
