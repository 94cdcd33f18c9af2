package main

// bench/verify's Go side: MIG's own verification of actions, in process, as
// MIG's scheduler runs it (mig.Action.VerifySignatures and pgp.Verify, with
// golang.org/x/crypto/openpgp): per action the canonical string (the
// reference of test/go/migcanon, built with this file), then per signature
// the keyring read again from its bytes, the one-line signature armored
// again and decoded, and the detached signature checked.
//
//	goverify KEYRING ACTIONS
//
// KEYRING is the investigators' public keys (binary, as gpg --export
// writes them), ACTIONS one JSON action a line (name, target, validfrom,
// expireafter, operations, pgpsignatures).  It prints the microseconds
// spent on the whole file, after reading it, and the signatures verified;
// it stops at the first that does not verify.

import (
	"bufio"
	"bytes"
	_ "crypto/sha256"
	_ "crypto/sha512"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/crypto/openpgp"
	"golang.org/x/crypto/openpgp/armor"
)

type signedAction struct {
	action
	PGPSignatures []string `json:"pgpsignatures"`
}

// the one-line form back into ASCII armor: lines of 64, the checksum last
func armorLine(line string) string {
	eq := strings.LastIndex(line, "=")
	if eq < 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("-----BEGIN PGP SIGNATURE-----\n\n")
	body := line[:eq]
	for len(body) > 64 {
		b.WriteString(body[:64] + "\n")
		body = body[64:]
	}
	if len(body) > 0 {
		b.WriteString(body + "\n")
	}
	b.WriteString(line[eq:] + "\n-----END PGP SIGNATURE-----")
	return b.String()
}

func verifyOne(data, sig string, keyring []byte) error {
	block, err := armor.Decode(strings.NewReader(armorLine(sig)))
	if err != nil {
		return err
	}
	if block.Type != "PGP SIGNATURE" {
		return fmt.Errorf("armor of type %q", block.Type)
	}
	ring, err := openpgp.ReadKeyRing(bytes.NewReader(keyring))
	if err != nil {
		return err
	}
	_, err = openpgp.CheckDetachedSignature(ring, strings.NewReader(data), block.Body)
	return err
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: goverify KEYRING ACTIONS")
		os.Exit(2)
	}
	keyring, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	f, err := os.Open(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	valid := 0
	t0 := time.Now()
	for n, line := range lines {
		var a signedAction
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			fmt.Fprintf(os.Stderr, "action %d: %v\n", n+1, err)
			os.Exit(1)
		}
		s, err := a.String()
		if err != nil {
			fmt.Fprintf(os.Stderr, "action %d: %v\n", n+1, err)
			os.Exit(1)
		}
		for _, sig := range a.PGPSignatures {
			if err := verifyOne(s, sig, keyring); err != nil {
				fmt.Fprintf(os.Stderr, "action %d: %v\n", n+1, err)
				os.Exit(1)
			}
			valid++
		}
	}
	fmt.Printf("%.0f %d\n", float64(time.Since(t0).Nanoseconds())/1000, valid)
}
