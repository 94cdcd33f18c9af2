package main

// The generator: seeded random MIG actions written with nasty JSON.  Most
// are valid actions whose canonical string mig must reproduce byte for
// byte; some are refused by Go (mig must refuse them too); a few are
// accepted by Go but refused by mig on purpose (marked "s").

import (
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"math/rand"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

type gen struct {
	r       *rand.Rand
	bad     bool // this action may hold invalid UTF-8 bytes
	offsets int  // time zone offsets handed out so far (all of them in turn)
}

func (g *gen) pick(xs []string) string { return xs[g.r.Intn(len(xs))] }
func (g *gen) chance(n int) bool       { return g.r.Intn(n) == 0 }

// JSON whitespace, mostly none
func (g *gen) ws() string {
	return g.pick([]string{"", "", "", "", " ", "\n", "\t", "\r\n  ", " \t"})
}

// characters written as they are
var rawPieces = []string{
	`\"`, `\\`, "/", "<", ">", "&", "'", ";", "=", "%", "%!s(int64=1)", " ", "\u007f",
	"\u2028", "\u2029", "\u00e9", "\u4e2d", "\U0001F600", "\U0001F9D1\u200D\U0001F52C",
	"\u00a0", "\ufeff", "\ufffd", "\U0010FFFF", "\u017f", "\u212a", "\u0130",
}

// escapes that decode to something awkward
var escapePieces = []string{
	`\"`, `\\`, `\/`, `\b`, `\f`, `\n`, `\r`, `\t`,
	`\u003c`, `\u003E`, `\u0026`, `\u0022`, `\u005c`, `\u002F`, `\u0041`, `\u007f`, `\u0080`,
	`\u2028`, `\u2029`, `\u00e9`, `\u00E9`, `\uffff`, `\ufffe`, `\ufffd`, `\u017f`,
	`\ud800`, `\udfff`, `\udbff`, `\udc00`, `\udc00\ud800`, `\ud83d\ude00`, `\uD83D\uDE00`,
	`\ud83d`, `\ud83dx`, `\ud800\u0041`, `\ud800\ud800\udc00`, `\udbff\udfff`,
}

// bytes that are not UTF-8: lone continuation bytes, overlong forms,
// encoded surrogates, beyond U+10FFFF, truncated sequences
var badPieces = []string{
	"\x80", "\xbf", "\xc0\x80", "\xc1\xbf", "\xe0\x80\x80", "\xe0\x9f\xbf", "\xed\xa0\x80",
	"\xed\xbf\xbf", "\xf0\x8f\xbf\xbf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xf8", "\xff",
	"\xe2\x82", "\xf0\x9f\x98", "\xe2\x28\xa1", "\xc3", "\xc3(", "\xef\xbf",
}

// a JSON string literal; nul: \u0000 may appear
func (g *gen) str(nul bool) string {
	var b strings.Builder
	b.WriteByte('"')
	for i, n := 0, g.r.Intn(10); i < n; i++ {
		switch k := g.r.Intn(10); {
		case k < 2:
			b.WriteString(g.pick(rawPieces))
		case k < 4:
			b.WriteString(g.pick(escapePieces))
		case k < 5:
			// a control character as an escape, upper- or lower-case hex
			c := g.r.Intn(0x20)
			if c == 0 && !nul {
				c = 1
			}
			if g.chance(2) {
				fmt.Fprintf(&b, `\u%04x`, c)
			} else {
				fmt.Fprintf(&b, `\u%04X`, c)
			}
		case k < 6 && g.bad:
			b.WriteString(g.pick(badPieces))
		default:
			b.WriteByte("abcxyzABCXYZ0189 -_.:,"[g.r.Intn(22)])
		}
	}
	b.WriteByte('"')
	return b.String()
}

// every control character at least once, in every form JSON allows
func allControls() string {
	var b strings.Builder
	b.WriteByte('"')
	for c := 0; c < 0x20; c++ {
		fmt.Fprintf(&b, `\u%04x\u%04X`, c, c)
	}
	b.WriteString(`\b\f\n\r\t\"\\\/`)
	b.WriteByte('"')
	return b.String()
}

var numbers = []string{
	"0", "-0", "1", "-1", "0.0", "-0.0", "-0.0e0", "0e-5", "-0e+0", "1.0", "2e0", "1e+2", "1E-2",
	"12e3", "12.5e1", "100e-2", "0.1e1", "1e20", "1e21", "1E21", "1e22", "1e23", "8.41e21",
	"999999999999999999999", "100000000000000000000", "9.999999999999999e20",
	"1e-6", "0.000001", "1e-7", "0.0000001", "9.99999999999e-7", "0.0000009999999999999999",
	"5e-7", "4.35e-7", "33.3e-9", "1e-10", "0.000123456789e-3",
	"9007199254740991", "9007199254740992", "9007199254740993", "-9007199254740993",
	"18446744073709551616", "9223372036854775807", "123456789012345678901234567890",
	"5e-324", "4.9e-324", "4.9406564584124654e-324", "2.2250738585072014e-308",
	"2.2250738585072011e-308", "1.7976931348623157e308", "1e308", "1e-400", "-1e-400",
	"0.1", "0.2", "0.30000000000000004", "123.456", "3.14159265358979323846264338327950288",
	"1000000000000000000000000", "1.5e300", "-1.5e-300",
}

// a number that Go reads as a float64
func (g *gen) number() string {
	switch g.r.Intn(8) {
	case 0:
		// any double, in one of Go's forms
		x := math.Float64frombits(g.r.Uint64())
		if math.IsNaN(x) || math.IsInf(x, 0) {
			x = g.r.NormFloat64()
		}
		return strconv.FormatFloat(x, g.pick([]string{"g", "e", "E"})[0], -1, 64)
	case 1:
		// with more digits than needed
		x := g.r.NormFloat64() * math.Pow(10, float64(g.r.Intn(60)-30))
		return strconv.FormatFloat(x, 'e', 15+g.r.Intn(8), 64)
	case 2:
		// a power of two: the narrow side of its rounding interval
		x := math.Ldexp(1, g.r.Intn(2098)-1074)
		return strconv.FormatFloat(x, g.pick([]string{"g", "e"})[0], -1, 64)
	case 3:
		// a plain decimal
		x := g.r.NormFloat64() * math.Pow(10, float64(g.r.Intn(30)-12))
		return strconv.FormatFloat(x, 'f', g.r.Intn(20), 64)
	case 4:
		// an integer, maybe beyond 2^53
		return strconv.FormatInt(g.r.Int63()>>uint(g.r.Intn(63)), 10)
	default:
		return g.pick(numbers)
	}
}

// a JSON value of an operation's parameters
func (g *gen) value(depth int) string {
	k := g.r.Intn(10)
	if depth > 5 {
		k = 4 + g.r.Intn(6)
	}
	switch {
	case k < 2:
		return g.object(depth + 1)
	case k < 4:
		var parts []string
		for i, n := 0, g.r.Intn(4); i < n; i++ {
			parts = append(parts, g.ws()+g.value(depth+1)+g.ws())
		}
		return "[" + g.ws() + strings.Join(parts, ",") + "]"
	case k < 6:
		return g.str(true)
	case k < 8:
		return g.number()
	default:
		return g.pick([]string{"true", "false", "null"})
	}
}

// an object with unsorted, repeated and after-decoding-equal keys
func (g *gen) object(depth int) string {
	var parts, keys []string
	for i, n := 0, g.r.Intn(6); i < n; i++ {
		var key string
		switch {
		case len(keys) > 0 && g.chance(5):
			key = keys[g.r.Intn(len(keys))] // the last one wins
		case g.chance(8):
			// different JSON, same Go string
			key = g.pick([]string{`"a"`, `"\u0061"`, `"\ud800"`, `"\udfff"`, `"\ufffd"`,
				"\"\ufffd\"", `"é"`, `"\u00e9"`, `"\ud83d\ude00"`, "\"\U0001F600\""})
		default:
			key = g.str(true)
			keys = append(keys, key)
		}
		parts = append(parts, g.ws()+key+g.ws()+":"+g.ws()+g.value(depth)+g.ws())
	}
	return "{" + g.ws() + strings.Join(parts, ",") + "}"
}

// nested objects and arrays, levels deep
func (g *gen) deep(levels int) string {
	var b strings.Builder
	for i := 0; i < levels; i++ {
		if i%2 == 0 {
			b.WriteString(`{"k` + strconv.Itoa(i%7) + `":`)
		} else {
			b.WriteString("[")
		}
	}
	b.WriteString(g.number())
	for i := levels - 1; i >= 0; i-- {
		if i%2 == 0 {
			b.WriteString("}")
		} else {
			b.WriteString("]")
		}
	}
	return b.String()
}

// a struct field's name as Go still matches it: any case, U+017F for s,
// letters as escapes
func (g *gen) field(name string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, c := range name {
		switch {
		case c == 's' && g.chance(10):
			b.WriteString("\u017f")
		case c == 's' && g.chance(10):
			b.WriteString(`\u017F`)
		case g.chance(12):
			fmt.Fprintf(&b, `\u%04x`, c)
		case g.chance(6):
			b.WriteString(strings.ToUpper(string(c)))
		default:
			b.WriteRune(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// an RFC 3339 time as Go 1.19 reads it; the offsets -23:59 .. +23:59 are
// handed out in turn, and Go's accidents come up too: offsets beyond 23:59
// or with a sign for a digit ("+-1:30"), a fraction in place of the seconds
// ("03:04:,05")
func (g *gen) time() string {
	var t time.Time
	if g.chance(4) {
		// anywhere from year 0001 to 9999
		t = time.Unix(-62135596800+86400+g.r.Int63n(253402300799+62135596800-2*86400), 0)
	} else {
		t = time.Unix(1300000000+g.r.Int63n(1000000000), 0)
	}
	zone := "Z"
	off := 0
	if !g.chance(10) {
		off = g.offsets%(2*24*60-1) - (24*60 - 1)
		g.offsets++
		sign := "+"
		if off < 0 || (off == 0 && g.chance(2)) {
			sign = "-"
		}
		a := off
		if a < 0 {
			a = -a
		}
		zone = fmt.Sprintf("%s%02d:%02d", sign, a/60, a%60)
	}
	t = t.In(time.FixedZone("", off*60))
	s := t.Format("2006-01-02T15:04:05")
	if t.Hour() < 10 && g.chance(4) {
		s = s[:11] + s[12:] // Go takes a one-digit hour
	}
	frac := func() string {
		digits := make([]byte, 1+g.r.Intn(12))
		for i := range digits {
			digits[i] = byte('0' + g.r.Intn(10))
		}
		return g.pick([]string{".", ".", ","}) + string(digits)
	}
	switch {
	case g.chance(12):
		s = s[:len(s)-2] + frac() // Go reads it as second 0 and the fraction
	case g.chance(2):
		s += frac()
	}
	if g.chance(12) {
		// Go's atoi reads each two-byte field of the offset: any two
		// digits, or a sign and a digit
		field := func() string {
			if g.chance(3) {
				return g.pick([]string{"+", "-"}) + strconv.Itoa(g.r.Intn(10))
			}
			return fmt.Sprintf("%02d", g.r.Intn(100))
		}
		zone = g.pick([]string{"+", "-"}) + field() + ":" + field()
	}
	return `"` + s + zone + `"`
}

// times Go refuses
var badTimes = []string{
	`"2026-01-02 03:04:05Z"`, `"2026-01-02t03:04:05Z"`, `"2026-01-02T03:04:05z"`,
	`"2026-02-30T03:04:05Z"`, `"2025-02-29T00:00:00Z"`, `"2026-13-02T03:04:05Z"`,
	`"2026-01-02T24:00:00Z"`, `"2026-01-02T03:60:05Z"`, `"2026-01-02T03:04:60Z"`,
	`"2026-01-02T03:04:05"`, `"2026-01-02T03:04:05+0100"`, `"2026-01-02T03:04:05+01"`,
	`"2026-01-02T03:04:05.Z"`, `"2026-01-02T03:04Z"`, `"26-01-02T03:04:05Z"`,
	`"2026-1-02T03:04:05Z"`, `"+2026-01-02T03:04:05Z"`, `"2026-01-02T03:04:05Z "`,
	`" 2026-01-02T03:04:05Z"`, `""`, `"2026\u002d01-02T03:04:05Z"`, `"2026-01-02T03:04:05\u005a"`,
	`"2026-01-02T03:04:.Z"`, `"2026-01-02T03:04:5Z"`, `"2026-01-02T03:04:,5.5Z"`, `"2026-01-02T03:04.5:05Z"`,
	`"2026-01-02T03:04:05+1:00"`, `"2026-01-02T03:04:05+ 1:00"`, `"2026-01-02T03:04:05+--:00"`,
	`"2026-01-02T03:04:05+01:00:00"`, `"2026-01-02T23:59:60Z"`,
	`1767323045`, `true`, `{}`, `[]`, `["2026-01-02T03:04:05Z"]`,
}

// one operation; known: module already set in this element by an earlier
// operations array, so it may be left out
func (g *gen) operation(known bool) string {
	if known && g.chance(5) {
		return "null" // Go leaves the element as it was
	}
	var parts []string
	if !known || !g.chance(3) {
		parts = append(parts, g.field("module")+":"+g.ws()+g.str(true))
		if g.chance(10) {
			parts = append(parts, g.field("module")+":"+g.pick([]string{"null", g.str(true)}))
		}
	}
	if !g.chance(6) {
		var p string
		switch {
		case g.chance(15):
			p = g.deep(50 + g.r.Intn(500))
		case g.chance(30):
			p = allControls()
		default:
			p = g.value(0)
		}
		parts = append(parts, g.field("parameters")+":"+g.ws()+p)
		if g.chance(12) {
			parts = append(parts, g.field("parameters")+":"+g.value(2))
		}
	}
	for _, f := range []string{"is_compressed", "want_compressed"} {
		for g.chance(3) {
			parts = append(parts, g.field(f)+":"+g.pick([]string{"true", "false", "null"}))
		}
	}
	if g.chance(4) {
		// a field Go ignores; its numbers are not even read as float64
		parts = append(parts, g.pick([]string{`"other"`, `"modules"`, `"param"`})+":"+
			g.pick([]string{g.value(3), "1e400", `[1e999,{"x":-1e999}]`}))
	}
	g.r.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
	return "{" + g.ws() + strings.Join(parts, ","+g.ws()) + g.ws() + "}"
}

// the operations value(s) of an action: usually one array, sometimes
// several "operations" members that Go decodes into the same slice
func (g *gen) operations() []string {
	var known []bool // module set in element i since the slice was last replaced
	var out []string
	arrays := 1
	if g.chance(6) {
		arrays = 2 + g.r.Intn(3)
	}
	for a := 0; a < arrays; a++ {
		last := a == arrays-1
		if !last && g.chance(6) {
			out = append(out, g.pick([]string{"null", "[]"}))
			known = nil
			continue
		}
		n := g.r.Intn(5)
		if a == 0 && n == 0 && g.chance(2) {
			n = 1
		}
		var ops []string
		for i := 0; i < n; i++ {
			k := i < len(known) && known[i]
			op := g.operation(k)
			ops = append(ops, g.ws()+op+g.ws())
			if i >= len(known) {
				known = append(known, true)
			}
		}
		if n == 0 {
			known = nil // an empty array replaces the slice
		}
		out = append(out, "["+strings.Join(ops, ",")+"]")
	}
	return out
}

// one member per field; fields may come twice, the last one wins
func (g *gen) member(name, value string) string {
	return g.field(name) + ":" + g.ws() + value
}

func (g *gen) action() (string, byte) {
	g.bad = g.chance(6)
	// members that must keep their order (a field given twice, several
	// operations arrays) are placed in order into the shuffled slots of
	// their group
	var groups [][]string
	for _, f := range []string{"name", "target"} {
		var ms []string
		if g.chance(15) {
			// overwritten: null, or a string that may even hold \u0000
			ms = append(ms, g.member(f, g.pick([]string{"null", g.str(true)})))
		}
		groups = append(groups, append(ms, g.member(f, g.str(false))))
	}
	for _, f := range []string{"validfrom", "expireafter"} {
		var ms []string
		if g.chance(15) {
			ms = append(ms, g.member(f, g.pick([]string{"null", g.time()})))
		}
		groups = append(groups, append(ms, g.member(f, g.time())))
	}
	var ops []string
	for _, o := range g.operations() {
		ops = append(ops, g.member("operations", o))
	}
	groups = append(groups, ops)
	extra := []string{
		`"id":` + strconv.Itoa(1+g.r.Intn(1<<30)),
		`"description":{"author":` + g.str(true) + `,"revision":1e400}`,
		`"threat":` + g.value(4),
		`"pgpsignatures":["abc",` + g.str(true) + `]`,
		`"syntaxversion":2`,
		`"counters":{}`,
		g.str(true) + ":" + g.value(3),
	}
	for _, e := range extra {
		if g.chance(2) {
			groups = append(groups, []string{e})
		}
	}
	var slots []int
	for i, ms := range groups {
		for range ms {
			slots = append(slots, i)
		}
	}
	g.r.Shuffle(len(slots), func(i, j int) { slots[i], slots[j] = slots[j], slots[i] })
	next := make([]int, len(groups))
	parts := make([]string, len(slots))
	for k, i := range slots {
		parts[k] = groups[i][next[i]]
		next[i]++
	}
	return g.ws() + "{" + g.ws() + strings.Join(parts, ","+g.ws()) + g.ws() + "}" + g.ws(), 'g'
}

// a valid action with one defect
func (g *gen) broken() (string, byte) {
	g.bad = false
	a, _ := g.simple()
	switch g.r.Intn(9) {
	case 0:
		return g.replace(a, "name", g.pick([]string{"1", "true", "[]", `{"a":"b"}`, `["n"]`})), 'g'
	case 1:
		return g.replace(a, "operations", g.pick([]string{`{}`, `"x"`, `1`, `true`, `{"module":"m"}`})), 'g'
	case 2:
		return g.replace(a, "operations", `[{"module":"m"},`+g.pick([]string{`1`, `"x"`, `[]`, `true`, `[{"module":"m"}]`})+`]`), 'g'
	case 3:
		return g.replace(a, "operations", `[{"module":`+g.pick([]string{`1`, `true`, `["m"]`, `{}`})+`}]`), 'g'
	case 4:
		return g.replace(a, "operations", `[{"module":"m","`+g.pick([]string{"is_compressed", "want_compressed"})+`":`+
			g.pick([]string{`"true"`, `1`, `0`, `{}`, `[]`})+`}]`), 'g'
	case 5:
		return g.replace(a, g.pick([]string{"validfrom", "expireafter"}), g.pick(badTimes)), 'g'
	case 6:
		return g.replace(a, "operations", `[{"module":"m","parameters":{"a":[1,`+
			g.pick([]string{"1e309", "-1e400", "2e308", "1" + strings.Repeat("0", 400), "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093552384"})+`]}}]`), 'g'
	case 7:
		return g.pick([]string{`[]`, `"action"`, `1`, `true`, `[{"name":"n"}]`}), 'g'
	default:
		// Go's limit is 10,000 levels, counting the action, operations and
		// the operation: 10,000 is fine, 10,001 is refused
		return g.replace(a, "operations", `[{"module":"m","parameters":`+g.deep(9997+g.r.Intn(2))+`}]`), 'g'
	}
}

// a plain valid action, its members in a fixed order
func (g *gen) simple() (string, byte) {
	return `{"name":` + g.str(false) + `,"target":` + g.str(false) +
		`,"validfrom":` + g.time() + `,"expireafter":` + g.time() +
		`,"operations":[{"module":` + g.str(true) + `,"parameters":` + g.value(1) + `}]}`, 'g'
}

// the simple action with one field's value replaced, or removed (value "")
func (g *gen) replace(a, field, value string) string {
	var b strings.Builder
	start := strings.Index(a, `"`+field+`":`)
	if start < 0 {
		return a
	}
	vstart := start + len(field) + 3
	vend := vstart + valueLen(a[vstart:])
	if value == "" {
		if a[vend] == ',' {
			vend++
		} else if a[start-1] == ',' {
			start--
		}
		b.WriteString(a[:start])
	} else {
		b.WriteString(a[:vstart])
		b.WriteString(value)
	}
	b.WriteString(a[vend:])
	return b.String()
}

// the length of the JSON value at the start of s
func valueLen(s string) int {
	depth, inStr := 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inStr && c == '\\':
			i++
		case inStr && c == '"':
			inStr = false
			if depth == 0 {
				return i + 1
			}
		case inStr:
		case c == '"':
			inStr = true
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
			if depth == 0 {
				return i + 1
			}
			if depth < 0 {
				return i
			}
		case c == ',' && depth == 0:
			return i
		}
	}
	return len(s)
}

// an action Go signs but mig refuses on purpose
func (g *gen) strict() (string, byte) {
	g.bad = false
	a, _ := g.simple()
	switch g.r.Intn(6) {
	case 0:
		return g.replace(a, g.pick([]string{"name", "target", "validfrom", "expireafter", "operations"}), ""), 's'
	case 1:
		return g.replace(a, g.pick([]string{"name", "target", "validfrom", "expireafter", "operations"}), "null"), 's'
	case 2:
		return g.replace(a, "operations", g.pick([]string{`[{}]`, `[{"parameters":1}]`, `[null]`,
			`[{"module":"m"},{"is_compressed":true}]`, `[{"module":null}]`})), 's'
	case 3:
		return g.replace(a, g.pick([]string{"name", "target"}), `"a\u0000b"`), 's'
	case 4:
		return "null", 's'
	default:
		return g.replace(a, "operations", `[{"module":"m"}],"operations":null`), 's'
	}
}

func generate(seed int64, n int, w io.Writer) {
	g := &gen{r: rand.New(rand.NewSource(seed))}
	for i := 0; i < n; i++ {
		var a string
		var kind byte
		switch k := g.r.Intn(100); {
		case k < 8:
			a, kind = g.broken()
		case k < 14:
			a, kind = g.strict()
		case k < 20:
			a, kind = g.simple()
		default:
			a, kind = g.action()
		}
		valid := byte('u')
		if !utf8.ValidString(a) {
			valid = 'b'
		}
		fmt.Fprintf(w, "%s\t%c\t%c\n", hex.EncodeToString([]byte(a)), valid, kind)
	}
}
