// migcanon: the reference for mig's canonical signed string, in Go itself.
//
//	migcanon gen SEED N   print N random MIG actions, one per line, hex-encoded JSON
//	migcanon canon        read hex-encoded actions on stdin, print for each line
//	                      "ok <hex of the canonical string>" or "error <message>"
//
// The canon command decodes each action with encoding/json into structs
// shaped like MIG's (mig.Action, mig.Operation) and prints the string the
// way MIG's Action.String() builds it. The test compares that with
// mig_action_string, byte for byte (test/t/010_canon_go.pl).
package main

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/rand"
	"os"
	"strconv"
	"strings"
	"time"
)

type operation struct {
	Module         string      `json:"module"`
	Parameters     interface{} `json:"parameters"`
	IsCompressed   bool        `json:"is_compressed,omitempty"`
	WantCompressed bool        `json:"want_compressed,omitempty"`
}

type action struct {
	Name        string      `json:"name"`
	Target      string      `json:"target"`
	ValidFrom   time.Time   `json:"validfrom"`
	ExpireAfter time.Time   `json:"expireafter"`
	Operations  []operation `json:"operations"`
}

// the same format string as MIG's Action.String()
func (a action) String() (string, error) {
	args, err := json.Marshal(a.Operations)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("name=%s;target=%s;validfrom=%d;expireafter=%s;operations=%s;",
		a.Name, a.Target, a.ValidFrom.UTC().Unix(), a.ExpireAfter.UTC().Unix(), args), nil
}

func canon() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 64<<20), 64<<20)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for in.Scan() {
		raw, err := hex.DecodeString(strings.TrimSpace(in.Text()))
		if err != nil {
			fmt.Fprintln(out, "error bad hex")
			continue
		}
		var a action
		if err := json.Unmarshal(raw, &a); err != nil {
			fmt.Fprintln(out, "error", strings.ReplaceAll(err.Error(), "\n", " "))
			continue
		}
		s, err := a.String()
		if err != nil {
			fmt.Fprintln(out, "error", err)
			continue
		}
		fmt.Fprintln(out, "ok", hex.EncodeToString([]byte(s)))
	}
}

// ---- the generator: valid MIG actions written with nasty JSON ----

type gen struct{ r *rand.Rand }

var nasty = []string{
	`"`, `\`, `/`, "<", ">", "&", "\u2028", "\u2029", "\u007f", "\u00e9", "\u4e2d",
	"\U0001F600", "\U0001F9D1\u200D\U0001F52C", "'", ";", "=", "%", "%!s", " ", "\u00a0",
	"\ufeff", "\ufffd", "\U0010FFFF",
}

// escapes that decode to something awkward, written as JSON escapes
var escapes = []string{
	`\"`, `\\`, `\/`, `\b`, `\f`, `\n`, `\r`, `\t`, `\u0000`, `\u0001`, `\u001f`, `\u001F`,
	`\u003c`, `\u0026`, `\u2028`, `\u2029`, `\ud800`, `\udfff`, `\udc00\ud800`, `\ud83d\ude00`,
	`\uD83D\uDE00`, `\ud83d`, `\ud83dx`, `\ud800\u0041`, `\u00e9`, `\uffff`, `\ufffe`,
}

func (g gen) str(noNul bool) string {
	var b strings.Builder
	n := g.r.Intn(12)
	for i := 0; i < n; i++ {
		switch g.r.Intn(4) {
		case 0:
			b.WriteString(jsonRaw(nasty[g.r.Intn(len(nasty))]))
		case 1:
			e := escapes[g.r.Intn(len(escapes))]
			if noNul && strings.Contains(e, `\u0000`) {
				e = `\u0001`
			}
			b.WriteString(e)
		default:
			b.WriteByte("abcXYZ019 -_.:"[g.r.Intn(14)])
		}
	}
	return `"` + b.String() + `"`
}

// raw characters as they may stand in a JSON string
func jsonRaw(s string) string {
	switch s {
	case `"`:
		return `\"`
	case `\`:
		return `\\`
	}
	return s
}

var numbers = []string{
	"0", "-0", "1", "-1", "1e21", "1e20", "1E21", "9.999999999999999e20", "1e-7", "1e-6",
	"0.000001", "0.0000001", "9007199254740993", "9007199254740992", "-9007199254740993",
	"5e-324", "4.9e-324", "2.2250738585072014e-308", "1.7976931348623157e308", "1e-400",
	"-1e-400", "0.1", "0.2", "0.30000000000000004", "123456789012345678901234567890",
	"1.5e300", "1e+2", "1E-2", "12.5e1", "100e-2", "3.14159265358979323846264338327950288",
	"0.000123456789e-3", "1e23", "8.41e21", "5e-7", "4.35e-7", "123.456", "-0.0", "2e0",
	"1.0", "1000000000000000000000000", "0.1e1", "33.3e-9",
}

func (g gen) number() string {
	if g.r.Intn(3) == 0 {
		// a random double written in a random form
		x := math.Float64frombits(g.r.Uint64())
		if math.IsNaN(x) || math.IsInf(x, 0) {
			x = g.r.NormFloat64() * 1e10
		}
		switch g.r.Intn(3) {
		case 0:
			return strconv.FormatFloat(x, 'g', -1, 64)
		case 1:
			return strconv.FormatFloat(x, 'e', 20, 64)
		default:
			return strconv.FormatFloat(g.r.NormFloat64()*math.Pow(10, float64(g.r.Intn(40)-20)), 'g', -1, 64)
		}
	}
	return numbers[g.r.Intn(len(numbers))]
}

func (g gen) ws() string {
	return []string{"", "", "", " ", "\n", "\t ", "\r\n  "}[g.r.Intn(7)]
}

func (g gen) value(depth int) string {
	k := g.r.Intn(10)
	if depth > 5 {
		k = 5 + g.r.Intn(5)
	}
	switch {
	case k < 3:
		return g.object(depth + 1)
	case k < 5:
		var parts []string
		for i, n := 0, g.r.Intn(4); i < n; i++ {
			parts = append(parts, g.ws()+g.value(depth+1)+g.ws())
		}
		return "[" + strings.Join(parts, ",") + "]"
	case k < 7:
		return g.str(false)
	case k < 9:
		return g.number()
	default:
		return []string{"true", "false", "null"}[g.r.Intn(3)]
	}
}

func (g gen) object(depth int) string {
	var parts []string
	n := g.r.Intn(6)
	keys := []string{}
	for i := 0; i < n; i++ {
		var key string
		if len(keys) > 0 && g.r.Intn(5) == 0 {
			key = keys[g.r.Intn(len(keys))] // a duplicate key: the last one wins
		} else {
			key = g.str(false)
			keys = append(keys, key)
		}
		parts = append(parts, g.ws()+key+g.ws()+":"+g.ws()+g.value(depth))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// a deeply nested value, as deep as MIG could ever send
func (g gen) deep() string {
	d := 50 + g.r.Intn(400)
	var b strings.Builder
	for i := 0; i < d; i++ {
		if i%2 == 0 {
			b.WriteString(`{"k` + strconv.Itoa(i) + `":`)
		} else {
			b.WriteString("[")
		}
	}
	b.WriteString(g.number())
	for i := d - 1; i >= 0; i-- {
		if i%2 == 0 {
			b.WriteString("}")
		} else {
			b.WriteString("]")
		}
	}
	return b.String()
}

// a field name as Go matches it: any case, sometimes with U+017F for s
func (g gen) field(name string) string {
	var b strings.Builder
	for _, c := range name {
		switch {
		case c == 's' && g.r.Intn(8) == 0:
			b.WriteString("\u017f")
		case c == 's' && g.r.Intn(8) == 0:
			b.WriteString(`\u017f`)
		case g.r.Intn(6) == 0:
			b.WriteString(strings.ToUpper(string(c)))
		default:
			b.WriteRune(c)
		}
	}
	return `"` + b.String() + `"`
}

func (g gen) time() string {
	t := time.Unix(g.r.Int63n(5000000000)-1000000000, 0).UTC()
	s := t.Format("2006-01-02T15:04:05")
	if g.r.Intn(2) == 0 {
		digits := 1 + g.r.Intn(12)
		frac := ""
		for i := 0; i < digits; i++ {
			frac += string(rune('0' + g.r.Intn(10)))
		}
		s += "." + frac
	}
	if g.r.Intn(5) == 0 {
		return `"` + s + `Z"`
	}
	off := g.r.Intn(24*60) * []int{-1, 1}[g.r.Intn(2)]
	sign := "+"
	if off < 0 {
		sign = "-"
		off = -off
	}
	return fmt.Sprintf(`"%s%s%02d:%02d"`, s, sign, off/60, off%60)
}

func (g gen) operation() string {
	var parts []string
	parts = append(parts, g.field("module")+":"+g.str(true))
	if g.r.Intn(6) != 0 {
		var p string
		if g.r.Intn(10) == 0 {
			p = g.deep()
		} else {
			p = g.value(0)
		}
		parts = append(parts, g.field("parameters")+":"+p)
	}
	for _, f := range []string{"is_compressed", "want_compressed"} {
		if g.r.Intn(3) == 0 {
			parts = append(parts, g.field(f)+":"+[]string{"true", "false", "null"}[g.r.Intn(3)])
		}
	}
	if g.r.Intn(4) == 0 {
		parts = append(parts, `"other":`+g.value(3))
	}
	g.r.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
	return "{" + strings.Join(parts, ","+g.ws()) + "}"
}

func (g gen) action() string {
	var ops []string
	for i, n := 0, g.r.Intn(4); i < n; i++ {
		ops = append(ops, g.operation())
	}
	parts := []string{
		g.field("name") + ":" + g.str(true),
		g.field("target") + ":" + g.str(true),
		g.field("validfrom") + ":" + g.time(),
		g.field("expireafter") + ":" + g.time(),
		g.field("operations") + ":[" + strings.Join(ops, ",") + "]",
		`"id":` + strconv.Itoa(1+g.r.Intn(1<<30)),
		`"description":{"author":` + g.str(false) + `}`,
		`"pgpsignatures":["abc"]`,
		`"syntaxversion":2`,
	}
	g.r.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
	return g.ws() + "{" + g.ws() + strings.Join(parts, ","+g.ws()) + g.ws() + "}" + g.ws()
}

func main() {
	if len(os.Args) >= 2 && os.Args[1] == "canon" {
		canon()
		return
	}
	if len(os.Args) == 4 && os.Args[1] == "gen" {
		seed, err1 := strconv.ParseInt(os.Args[2], 10, 64)
		n, err2 := strconv.Atoi(os.Args[3])
		if err1 == nil && err2 == nil {
			g := gen{rand.New(rand.NewSource(seed))}
			out := bufio.NewWriter(os.Stdout)
			for i := 0; i < n; i++ {
				fmt.Fprintln(out, hex.EncodeToString([]byte(g.action())))
			}
			out.Flush()
			return
		}
	}
	fmt.Fprintln(os.Stderr, "usage: migcanon gen SEED N | migcanon canon")
	os.Exit(2)
}
