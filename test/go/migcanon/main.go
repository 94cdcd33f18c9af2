// migcanon: the Go side of mig's differential test of its canonical signed
// string (test/t/010_canon_go.pl).  Standard library only.
//
//	migcanon gen SEED N   print N random MIG actions, one a line:
//	                      hex(JSON) TAB u|b TAB g|s
//	                      (u: valid UTF-8, b: holds invalid UTF-8 bytes;
//	                      g: mig must answer as Go does, s: mig is stricter
//	                      than Go on purpose and must refuse it)
//	migcanon canon        read such lines on stdin and print for each
//	                      "ok HEX" (the canonical string, hex) or "error MSG"
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
	fmt.Fprintln(os.Stderr, "usage: migcanon gen SEED N | migcanon canon")
	os.Exit(2)
}
