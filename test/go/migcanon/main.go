// migcanon: the Go side of mig's differential tests of its canonical signed
// string (test/t/010_canon_go.pl, test/fuzz/canon.check) and of its RFC 3339
// times (test/fuzz/gotime.check).  Standard library only; the reference is
// the Go it is built with, Debian 12's Go 1.19 (what MIG's clients use).
//
//	migcanon gen SEED N   print N random MIG actions, one a line:
//	                      hex(JSON) TAB u|b TAB g|s
//	                      (u: valid UTF-8, b: holds invalid UTF-8 bytes;
//	                      g: mig must answer as Go does, s: mig is stricter
//	                      than Go on purpose and must refuse it)
//	migcanon canon        read such lines on stdin and print for each
//	                      "ok HEX" (the canonical string, hex) or "error MSG"
//	migcanon time         read lines of hex(time) on stdin and print for each
//	                      "ok UNIX NANOSECONDS" (time.Time's UnmarshalJSON of
//	                      the time between quotes) or "refused"
package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
)

func main() {
	switch {
	case len(os.Args) == 2 && os.Args[1] == "canon":
		if err := canonLines(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "migcanon:", err)
			os.Exit(1)
		}
		return
	case len(os.Args) == 2 && os.Args[1] == "time":
		if err := timeLines(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "migcanon:", err)
			os.Exit(1)
		}
		return
	case len(os.Args) == 4 && os.Args[1] == "gen":
		seed, err1 := strconv.ParseInt(os.Args[2], 10, 64)
		n, err2 := strconv.Atoi(os.Args[3])
		if err1 == nil && err2 == nil {
			out := bufio.NewWriter(os.Stdout)
			generate(seed, n, out)
			if err := out.Flush(); err != nil {
				fmt.Fprintln(os.Stderr, "migcanon:", err)
				os.Exit(1)
			}
			return
		}
	}
	fmt.Fprintln(os.Stderr, "usage: migcanon gen SEED N | migcanon canon | migcanon time")
	os.Exit(2)
}
